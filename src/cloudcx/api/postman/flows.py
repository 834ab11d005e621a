"""The OAuth flows around the API, as Postman folders that test themselves.

The guide's password grant (with ``email`` and with ``username``) and what a
client meets without the right token; the code flow with PKCE, walked the way
a browser does; client credentials with introspection.
"""

from __future__ import annotations

from cloudcx.api.postman import scripts as js
from cloudcx.api.postman.items import Item, bearer, event, form, oauth2, request

OAUTH_TAG = "OAuth 2.0"
CODE_FLOW = "Authorization code with PKCE"
CLIENT_CREDENTIALS = "Client credentials"
CODE_SCOPE = "profile tickets:read"
NARROW_SCOPE = "profile"


def oauth_folder() -> Item:
    """The guide's token requests, then what a client meets without the right token."""
    return {
        "name": OAUTH_TAG,
        "description": "Getting access tokens (RFC 6749): the guide's password grant.",
        "item": [
            _token_request("Get an access token (the guide: email)", "email"),
            _token_request("Get an access token (username)", "username"),
            request(
                "Authorization server metadata (RFC 8414)",
                "get",
                "/.well-known/oauth-authorization-server",
                auth={"type": "noauth"},
                tests=js.render(js.METADATA),
            ),
            request(
                "JSON Web Key Set (RFC 7517)",
                "get",
                "/.well-known/jwks.json",
                auth={"type": "noauth"},
                tests=js.render(js.JWKS),
            ),
            request(
                "Without a token: 401",
                "get",
                "/api/v1/me",
                auth={"type": "noauth"},
                tests=js.render(
                    js.BEARER_REFUSAL, title="401 without a token", status=401, error=None
                ),
            ),
            _token_request(
                f"A token with the {NARROW_SCOPE} scope only",
                "email",
                variable="narrow_access_token",
                scope=NARROW_SCOPE,
            ),
            request(
                "Missing scope: 403",
                "get",
                "/api/v1/tickets",
                auth=bearer("narrow_access_token"),
                tests=js.render(
                    js.BEARER_REFUSAL,
                    title="403 insufficient_scope",
                    status=403,
                    error="insufficient_scope",
                ),
            ),
            request(
                "Revoke a token (RFC 7009)",
                "post",
                "/oauth/revoke",
                auth={"type": "noauth"},
                body=form({"token": "{{narrow_access_token}}", "client_id": "{{client_id}}"}),
                tests=js.render(
                    js.STATUS, title="200 revoked", status=200, media=None, variable=None
                ),
            ),
            request(
                "A revoked token: 401",
                "get",
                "/api/v1/me",
                auth=bearer("narrow_access_token"),
                tests=js.render(
                    js.BEARER_REFUSAL, title="401 invalid_token", status=401, error="invalid_token"
                ),
            ),
        ],
    }


def _token_request(
    name: str,
    login: str,
    variable: str = "access_token",
    scope: str | None = None,
) -> Item:
    fields = {login: "{{email}}", "password": "{{password}}", "grant_type": "password"}
    fields["client_id"] = "{{client_id}}"
    if scope is not None:
        fields["scope"] = scope
    return request(
        name,
        "post",
        "/oauth/token",
        auth={"type": "noauth"},
        body=form(fields),
        tests=js.render(
            js.TOKEN_ANSWER,
            title="200 with a Bearer access token",
            scope=scope,
            variable=variable,
            refresh=variable.replace("access", "refresh"),
        ),
        description="Step 2 of the guide: Body > x-www-form-urlencoded, then Send.",
    )


def code_flow_folder() -> Item:
    """RFC 6749 §4.1 with PKCE, walked like a browser: sign in, Allow, exchange the code."""
    noauth = {"type": "noauth"}
    authorize = [
        ("response_type", "code"),
        ("client_id", "{{client_id}}"),
        ("redirect_uri", "{{redirect_uri}}"),
        ("scope", CODE_SCOPE),
        ("state", "{{oauth_state}}"),
        ("code_challenge", "{{code_challenge}}"),
        ("code_challenge_method", "S256"),
    ]
    steps = [
        request(
            "Sign-in page",
            "get",
            "/login",
            auth=noauth,
            follow_redirects=False,
            prerequest=js.render(js.START_CODE_FLOW),
            tests=js.render(
                js.FORM_PAGE,
                title="The sign-in page (or 303: signed in)",
                statuses=[200, 303],
                variable="signin_csrf",
            ),
        ),
        request(
            "Sign in",
            "post",
            "/login",
            auth=noauth,
            follow_redirects=False,
            body=form(
                {
                    "email": "{{email}}",
                    "password": "{{password}}",
                    "csrf_token": "{{signin_csrf}}",
                    "next": "",
                }
            ),
            prerequest=js.render(
                js.NEEDS_VARIABLE, variable="signin_csrf", why="Already signed in."
            ),
            tests=js.render(js.SIGNED_IN),
        ),
        request(
            "Authorization request: the consent page",
            "get",
            "/oauth/authorize",
            auth=noauth,
            follow_redirects=False,
            parameters=[("query", k, {"key": k, "value": v}) for k, v in authorize],
            tests=js.render(js.CONSENT_PAGE),
        ),
        request(
            "Allow",
            "post",
            "/oauth/authorize",
            auth=noauth,
            follow_redirects=False,
            body=form({"csrf_token": "{{consent_csrf}}", "decision": "allow", **dict(authorize)}),
            prerequest=js.render(js.SKIP_WITHOUT_CONSENT_FORM),
            tests=js.render(js.CODE_REDIRECT),
        ),
        request(
            "Exchange the code for tokens",
            "post",
            "/oauth/token",
            auth=noauth,
            body=form(
                {
                    "grant_type": "authorization_code",
                    "code": "{{authorization_code}}",
                    "redirect_uri": "{{redirect_uri}}",
                    "client_id": "{{client_id}}",
                    "code_verifier": "{{code_verifier}}",
                }
            ),
            tests=js.render(
                js.TOKEN_ANSWER,
                title="200 with a Bearer access token",
                scope=CODE_SCOPE,
                variable="code_access_token",
                refresh="code_refresh_token",
            ),
        ),
        request(
            "Call the API with the code flow's token",
            "get",
            "/api/v1/me",
            tests=js.render(js.ME_WITH_USER),
        ),
        request(
            "Refresh the tokens",
            "post",
            "/oauth/token",
            auth=noauth,
            body=form(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "{{code_refresh_token}}",
                    "client_id": "{{client_id}}",
                }
            ),
            prerequest=js.render(js.REMEMBER_REFRESH_TOKEN),
            tests=js.render(js.REFRESH_ROTATES),
        ),
        request(
            "Push the authorization request (RFC 9126)",
            "post",
            "/oauth/par",
            auth=noauth,
            follow_redirects=False,
            body=form(dict(authorize)),
            tests=js.render(
                js.STATUS,
                title="201 with a request_uri for /oauth/authorize",
                status=201,
                media="application/json",
                variable=None,
            ),
            description=(
                "Instead of the long authorization request above: send the user to "
                "/oauth/authorize?client_id=...&request_uri=... with the answer's request_uri."
            ),
        ),
    ]
    return {
        "name": CODE_FLOW,
        "description": (
            "Needs `redirect_uri` registered on the client (Action > Edit > Redirect URIs) "
            "with the Authorization code grant ticked. The steps sign in and press Allow "
            "the way a browser does; or use this folder's Authorization tab, Get New Access "
            "Token, which opens the consent page in Postman."
        ),
        "auth": oauth2(
            {
                "grant_type": "authorization_code_with_pkce",
                "authUrl": "{{base_url}}/oauth/authorize",
                "accessTokenUrl": "{{base_url}}/oauth/token",
                "clientId": "{{client_id}}",
                "redirect_uri": "{{redirect_uri}}",
                "scope": CODE_SCOPE,
                "challengeAlgorithm": "S256",
                "client_authentication": "body",
                "tokenName": "CloudCX code flow",
                "accessToken": "{{code_access_token}}",
            }
        ),
        "event": [_needs("redirect_uri", CODE_FLOW)],
        "item": steps,
    }


def client_credentials_folder() -> Item:
    """RFC 6749 §4.4: a confidential client's own token, then RFC 7662 introspection."""
    basic = {
        "type": "basic",
        "basic": [
            {"key": "username", "value": "{{confidential_client_id}}", "type": "string"},
            {"key": "password", "value": "{{confidential_client_secret}}", "type": "string"},
        ],
    }
    return {
        "name": CLIENT_CREDENTIALS,
        "description": (
            "Needs `confidential_client_id` and `confidential_client_secret`: a client with "
            "a secret (Action > Edit > Generate client secret) and the Client credentials grant."
        ),
        "auth": oauth2(
            {
                "grant_type": "client_credentials",
                "accessTokenUrl": "{{base_url}}/oauth/token",
                "clientId": "{{confidential_client_id}}",
                "clientSecret": "{{confidential_client_secret}}",
                "client_authentication": "header",
                "tokenName": "CloudCX client credentials",
                "accessToken": "{{client_access_token}}",
            }
        ),
        "event": [_needs("confidential_client_id", CLIENT_CREDENTIALS)],
        "item": [
            request(
                "Get a token for the client itself",
                "post",
                "/oauth/token",
                auth=basic,
                body=form({"grant_type": "client_credentials"}),
                tests=js.render(
                    js.TOKEN_ANSWER,
                    title="200 with a Bearer access token",
                    scope=None,
                    variable="client_access_token",
                    refresh="client_refresh_token",
                ),
            ),
            request(
                "Call the API as the client",
                "get",
                "/api/v1/tickets",
                parameters=[("query", "limit", {"key": "limit", "value": "5"})],
                tests=js.render(
                    js.STATUS,
                    title="200 tickets",
                    status=200,
                    media="application/json",
                    variable=None,
                ),
            ),
            request(
                "Introspect the token (RFC 7662)",
                "post",
                "/oauth/introspect",
                auth=basic,
                body=form({"token": "{{client_access_token}}"}),
                tests=js.render(js.INTROSPECTION),
            ),
        ],
    }


def _needs(variable: str, folder: str) -> Item:
    why = f"{folder}: skipped until the variable {variable} is set."
    return event("prerequest", js.render(js.NEEDS_VARIABLE, variable=variable, why=why))
