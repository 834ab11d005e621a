"""A Postman collection and environment, made from the live OpenAPI document.

The OAuth client guide's readers work in Postman: a POST to ``/oauth/token``
with ``x-www-form-urlencoded`` keys, then requests with Authorization > OAuth
2.0 and the ``Bearer`` prefix. The collection (schema v2.1) does that for them.
Every ``/api/v1`` operation is converted from the OpenAPI document the server
publishes, so the two cannot drift apart; the OAuth flows around them (the
guide's password grant, the code flow with PKCE, client credentials) are
written here. Each request carries Postman tests of the status it must answer,
so the collection run by newman is its own proof.

Requests run in an order that works: a folder creates its record first, reads
and changes it, and deletes it last; a tag whose paths lie under another tag's
record (a ticket's messages) is a folder inside that one, before the delete.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cloudcx.api import postman_scripts as js
from cloudcx.api.openapi import API_PREFIX
from cloudcx.tenancy.middleware import valid_host

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
COLLECTION_PATH = "/api/v1/postman.json"
ENVIRONMENT_PATH = "/api/v1/postman_environment.json"
COLLECTION_FILE = "cloudcx.postman_collection.json"
ENVIRONMENT_FILE = "cloudcx.postman_environment.json"
OAUTH_TAG = "OAuth 2.0"
CODE_FLOW = "Authorization code with PKCE"
CLIENT_CREDENTIALS = "Client credentials"
CODE_SCOPE = "profile tickets:read"
NARROW_SCOPE = "profile"
IDEMPOTENCY_KEY = "Idempotency-Key"
# The four a reader sets, then the optional ones of the code-flow and client-credentials folders.
ENVIRONMENT = (
    ("base_url", "default"),
    ("email", "default"),
    ("password", "secret"),
    ("client_id", "default"),
    ("redirect_uri", "default"),
    ("confidential_client_id", "default"),
    ("confidential_client_secret", "secret"),
)
TOKEN_VARIABLES = ("access_token", "access_token_expires_at", "narrow_access_token")
_NAMESPACE = uuid.UUID("5d0f64a4-3c55-4b8e-9a53-2f1f3c7ab0c1")
_PATH_PARAM = re.compile(r"\{(\w+)\}")
_RANK = {"post": 0, "get": 1, "put": 2, "patch": 2, "delete": 3}

Item = dict[str, Any]


def base_url_for(address: str) -> str:
    """``https://DOMAIN`` for a domain (``http`` for a loopback host), or the URL given."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    host = valid_host(parts.netloc)
    if not host or parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{address!r} is not a domain or a base URL such as https://cx.example.")
    scheme = parts.scheme or (
        "http" if (parts.hostname or "") in {"localhost", "127.0.0.1", "::1"} else "https"
    )
    if scheme not in ("http", "https"):
        raise ValueError(f"{address!r}: the base URL must start with http:// or https://.")
    return f"{scheme}://{host}"


def dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def environment(base_url: str) -> dict[str, Any]:
    values = [
        {"key": k, "value": base_url if k == "base_url" else "", "type": t, "enabled": True}
        for k, t in ENVIRONMENT
    ]
    return {
        "id": str(uuid.uuid5(_NAMESPACE, "environment " + base_url)),
        "name": f"CloudCX ({urlsplit(base_url).netloc})",
        "values": values,
        "_postman_variable_scope": "environment",
    }


def collection(openapi: dict[str, Any], base_url: str) -> dict[str, Any]:
    api = _api_folders(openapi)
    ids = sorted({v for item in _requests(api) for v in _path_variables(item)})
    names = [k for k, _ in ENVIRONMENT] + list(TOKEN_VARIABLES) + ids
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(_NAMESPACE, "collection " + base_url)),
            "name": f"{openapi['info']['title']} ({urlsplit(base_url).netloc})",
            "description": _DESCRIPTION,
            "schema": SCHEMA,
        },
        "auth": _oauth2(
            {
                "grant_type": "password_credentials",
                "accessTokenUrl": "{{base_url}}/oauth/token",
                "clientId": "{{client_id}}",
                "username": "{{email}}",
                "password": "{{password}}",
                "client_authentication": "body",
                "tokenName": "CloudCX password grant",
                "accessToken": "{{access_token}}",
            }
        ),
        "event": [_event("prerequest", js.render(js.GET_TOKEN_WHEN_NEEDED))],
        "variable": [
            {"key": k, "value": base_url if k == "base_url" else "", "type": "string"}
            for k in names
        ],
        "item": [_oauth_folder(), *api, _code_flow_folder(), _client_credentials_folder()],
    }


_DESCRIPTION = """The CloudCX API with the OAuth client guide's flows.

Set four variables in the environment: `base_url` (filled in), `email`, `password` and
`client_id` (Global Settings > Security > OAuth Client > Action > Edit), then send any
request: the collection's Authorization is OAuth 2.0 with the password grant and the
Bearer prefix, and a pre-request script gets the access token when there is none.

The folder "Authorization code with PKCE" needs `redirect_uri`
(`https://oauth.pstmn.io/v1/callback`, registered on the client with the Authorization
code grant); "Client credentials" needs `confidential_client_id` and
`confidential_client_secret` of a client with a secret. They are skipped until then."""


# --- the API, operation by operation ---------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    index: int  # position in the OpenAPI document

    @property
    def tag(self) -> str:
        tags: list[str] = self.spec.get("tags") or ["API"]
        return tags[0]

    @property
    def rank(self) -> int:
        """Create, read, change, delete: the order in which a folder's requests work."""
        if self.method == "post" and self.path.endswith("}"):
            return 1  # an action on an existing record
        return _RANK.get(self.method, 1)


def operations(openapi: dict[str, Any]) -> list[Operation]:
    """Every operation under ``/api/v1`` in document order."""
    found: list[Operation] = []
    for path, item in openapi.get("paths", {}).items():
        if path.startswith(API_PREFIX):
            for method, spec in item.items():
                if method in _RANK:
                    found.append(Operation(method, path, spec, len(found)))
    return found


def _api_folders(openapi: dict[str, Any]) -> list[Item]:
    ops = operations(openapi)
    by_tag: dict[str, list[Operation]] = {}
    for tag in [t["name"] for t in openapi.get("tags", [])] + [op.tag for op in ops]:
        by_tag.setdefault(tag, [])
    for op in ops:
        by_tag[op.tag].append(op)
    by_tag = {tag: found for tag, found in by_tag.items() if found}
    parents = {tag: _parent(tag, by_tag) for tag in by_tag}
    descriptions = {t["name"]: t.get("description", "") for t in openapi.get("tags", [])}
    paths = set(openapi.get("paths", {}))

    def folder(tag: str) -> Item:
        items: list[Item] = []
        children = [t for t in by_tag if parents[t] == tag]
        for op in sorted(by_tag[tag], key=lambda o: (o.rank, o.index)):
            if op.rank == _RANK["delete"] and children:
                items += [folder(child) for child in children]
                children = []
            items += _operation_items(openapi, op, paths)
        items += [folder(child) for child in children]
        return {"name": tag, "description": descriptions.get(tag, ""), "item": items}

    return [folder(tag) for tag in by_tag if parents[tag] is None]


def _parent(tag: str, by_tag: dict[str, list[Operation]]) -> str | None:
    """The tag whose record every path of ``tag`` lies under (a ticket's messages)."""
    for other, ops in by_tag.items():
        records = {op.path for op in ops if op.path.endswith("}")}
        if (
            other != tag
            and records
            and all(any(op.path.startswith(r + "/") for r in records) for op in by_tag[tag])
        ):
            return other
    return None


def _operation_items(openapi: dict[str, Any], op: Operation, paths: set[str]) -> list[Item]:
    status, media, response_schema = _success(openapi, op.spec)
    created = (
        _created_variable(op, paths) if "id" in response_schema.get("properties", {}) else None
    )
    summary = op.spec.get("summary") or f"{op.method.upper()} {op.path}"
    bodies = _example_bodies(openapi, op.spec)
    items = []
    for example, body in bodies:
        name = summary if len(bodies) == 1 else f"{summary}: {json.dumps(example)}"
        tests = js.render(
            js.STATUS, title=f"{status} {name}", status=status, media=media, variable=created
        )
        items.append(
            _request(
                name,
                op.method,
                op.path,
                body=None if body is None else _json_body(body),
                parameters=[_parameter(openapi, p) for p in op.spec.get("parameters", [])],
                tests=tests,
                description=op.spec.get("description", ""),
            )
        )
    return items


def _created_variable(op: Operation, paths: set[str]) -> str | None:
    """For a POST that creates a record, the path parameter that names it (``ticket_id``)."""
    if op.method != "post" or op.path.endswith("}"):
        return None
    for path in sorted(paths):
        found = _PATH_PARAM.fullmatch(path.removeprefix(op.path + "/"))
        if path.startswith(op.path + "/") and found:
            return found.group(1)
    return None


def _success(openapi: dict[str, Any], spec: dict[str, Any]) -> tuple[int, str | None, Item]:
    """The operation's first 2xx status, its JSON media type (if any) and body schema."""
    codes = sorted(int(c) for c in spec.get("responses", {}) if c.isdigit() and c[0] == "2")
    status = codes[0] if codes else 200
    content = spec.get("responses", {}).get(str(status), {}).get("content", {})
    media = next((m for m in content if m.endswith("json")), None)
    schema = _resolve(openapi, content[media].get("schema", {})) if media else {}
    return status, media, schema


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = openapi
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _sample(openapi: dict[str, Any], schema: dict[str, Any]) -> Any:
    """An example value for a parameter: its example, default or first choice."""
    schema = _resolve(openapi, schema)
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if schema.get("example") is not None:
        return schema["example"]
    if schema.get("default") not in (None, [], ""):
        return schema["default"]
    for variant in schema.get("anyOf", []):
        if variant.get("type") != "null":
            return _sample(openapi, variant)
    return _sample(openapi, schema["items"]) if "items" in schema else ""


def _parameter(openapi: dict[str, Any], parameter: dict[str, Any]) -> tuple[str, str, Item]:
    where, name = parameter["in"], parameter["name"]
    if where == "path":
        value = "{{" + name + "}}"
    elif name == IDEMPOTENCY_KEY:
        value = "{{$guid}}"  # a new key per send: a repeated send is a new request
    else:
        value = str(_sample(openapi, parameter.get("schema", {})))
    entry: Item = {"key": name, "value": value, "description": parameter.get("description", "")}
    if where != "path" and not parameter.get("required") and name != IDEMPOTENCY_KEY:
        entry["disabled"] = True
    return where, name, entry


def _example_bodies(openapi: dict[str, Any], spec: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(example, body to send) for each example of the JSON request body; one without body."""
    content = spec.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return [(None, None)]
    schema = _resolve(openapi, content.get("schema", {}))
    examples = [e.get("value") for e in content.get("examples", {}).values()]
    examples = examples or schema.get("examples") or [schema.get("example") or _built(schema)]
    return [(e, _repeatable(openapi, schema, e)) for e in examples]


def _built(schema: dict[str, Any]) -> dict[str, Any]:
    return {name: "" for name in schema.get("required", [])}


def _repeatable(openapi: dict[str, Any], schema: dict[str, Any], example: Any) -> Any:
    """The example made to run as it is, again and again, on any tenant.

    Ids of other records name another installation's rows, so they are left
    out; emails get a unique part (they are unique per tenant); a password is
    random, so that no account is left with a password printed in the document.
    """
    if not isinstance(example, dict):
        return example
    properties = schema.get("properties", {})
    body = {}
    for key, given in example.items():
        value = given
        prop = _resolve(openapi, properties.get(key, {}))
        formats = {v.get("format") for v in [prop, *prop.get("anyOf", [])]}
        if "uuid" in formats:
            continue
        if key == "password" or "password" in formats:
            value = "{{$guid}}"
        elif isinstance(value, str) and "@" in value and ("email" in formats or "email" in key):
            local, _, domain = value.partition("@")
            value = f"{local}+{{{{$guid}}}}@{domain}"
        body[key] = value
    return body


# --- the OAuth flows around the API -----------------------------------------------------


def _oauth_folder() -> Item:
    """The guide's token requests, then what a client meets without the right token."""
    return {
        "name": OAUTH_TAG,
        "description": "Getting access tokens (RFC 6749): the guide's password grant.",
        "item": [
            _token_request("Get an access token (the guide: email)", "email"),
            _token_request("Get an access token (username)", "username"),
            _request(
                "Authorization server metadata (RFC 8414)",
                "get",
                "/.well-known/oauth-authorization-server",
                auth={"type": "noauth"},
                tests=js.render(js.METADATA),
            ),
            _request(
                "JSON Web Key Set (RFC 7517)",
                "get",
                "/.well-known/jwks.json",
                auth={"type": "noauth"},
                tests=js.render(js.JWKS),
            ),
            _request(
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
            _request(
                "Missing scope: 403",
                "get",
                "/api/v1/tickets",
                auth=_bearer("narrow_access_token"),
                tests=js.render(
                    js.BEARER_REFUSAL,
                    title="403 insufficient_scope",
                    status=403,
                    error="insufficient_scope",
                ),
            ),
            _request(
                "Revoke a token (RFC 7009)",
                "post",
                "/oauth/revoke",
                auth={"type": "noauth"},
                body=_form({"token": "{{narrow_access_token}}", "client_id": "{{client_id}}"}),
                tests=js.render(
                    js.STATUS, title="200 revoked", status=200, media=None, variable=None
                ),
            ),
            _request(
                "A revoked token: 401",
                "get",
                "/api/v1/me",
                auth=_bearer("narrow_access_token"),
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
    return _request(
        name,
        "post",
        "/oauth/token",
        auth={"type": "noauth"},
        body=_form(fields),
        tests=js.render(
            js.TOKEN_ANSWER,
            title="200 with a Bearer access token",
            scope=scope,
            variable=variable,
            refresh=variable.replace("access", "refresh"),
        ),
        description="Step 2 of the guide: Body > x-www-form-urlencoded, then Send.",
    )


def _code_flow_folder() -> Item:
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
        _request(
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
        _request(
            "Sign in",
            "post",
            "/login",
            auth=noauth,
            follow_redirects=False,
            body=_form(
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
        _request(
            "Authorization request: the consent page",
            "get",
            "/oauth/authorize",
            auth=noauth,
            follow_redirects=False,
            parameters=[("query", k, {"key": k, "value": v}) for k, v in authorize],
            tests=js.render(js.CONSENT_PAGE),
        ),
        _request(
            "Allow",
            "post",
            "/oauth/authorize",
            auth=noauth,
            follow_redirects=False,
            body=_form({"csrf_token": "{{consent_csrf}}", "decision": "allow", **dict(authorize)}),
            prerequest=js.render(js.SKIP_WITHOUT_CONSENT_FORM),
            tests=js.render(js.CODE_REDIRECT),
        ),
        _request(
            "Exchange the code for tokens",
            "post",
            "/oauth/token",
            auth=noauth,
            body=_form(
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
        _request(
            "Call the API with the code flow's token",
            "get",
            "/api/v1/me",
            tests=js.render(js.ME_WITH_USER),
        ),
        _request(
            "Refresh the tokens",
            "post",
            "/oauth/token",
            auth=noauth,
            body=_form(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "{{code_refresh_token}}",
                    "client_id": "{{client_id}}",
                }
            ),
            prerequest=js.render(js.REMEMBER_REFRESH_TOKEN),
            tests=js.render(js.REFRESH_ROTATES),
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
        "auth": _oauth2(
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


def _client_credentials_folder() -> Item:
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
        "auth": _oauth2(
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
            _request(
                "Get a token for the client itself",
                "post",
                "/oauth/token",
                auth=basic,
                body=_form({"grant_type": "client_credentials"}),
                tests=js.render(
                    js.TOKEN_ANSWER,
                    title="200 with a Bearer access token",
                    scope=None,
                    variable="client_access_token",
                    refresh="client_refresh_token",
                ),
            ),
            _request(
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
            _request(
                "Introspect the token (RFC 7662)",
                "post",
                "/oauth/introspect",
                auth=basic,
                body=_form({"token": "{{client_access_token}}"}),
                tests=js.render(js.INTROSPECTION),
            ),
        ],
    }


def _needs(variable: str, folder: str) -> Item:
    why = f"{folder}: skipped until the variable {variable} is set."
    return _event("prerequest", js.render(js.NEEDS_VARIABLE, variable=variable, why=why))


# --- Postman's building blocks ----------------------------------------------------------


def _request(
    name: str,
    method: str,
    path: str,
    *,
    auth: Item | None = None,
    body: Item | None = None,
    parameters: Sequence[tuple[str, str, Item]] = (),
    prerequest: list[str] | None = None,
    tests: list[str] | None = None,
    follow_redirects: bool = True,
    description: str = "",
) -> Item:
    query = [entry for where, _, entry in parameters if where == "query"]
    headers = [entry for where, _, entry in parameters if where == "header"]
    variables = [entry for where, _, entry in parameters if where == "path"]
    if body is not None and body["mode"] == "raw":
        headers.insert(0, {"key": "Content-Type", "value": "application/json"})
    postman_path = _PATH_PARAM.sub(r":\1", path)
    enabled = "&".join(f"{q['key']}={q['value']}" for q in query if not q.get("disabled"))
    url: Item = {
        "raw": "{{base_url}}" + postman_path + (f"?{enabled}" if enabled else ""),
        "host": ["{{base_url}}"],
        "path": postman_path.strip("/").split("/"),
    }
    if query:
        url["query"] = query
    if variables:
        url["variable"] = variables
    request: Item = {"method": method.upper(), "header": headers, "url": url}
    if description:
        request["description"] = description
    if auth is not None:
        request["auth"] = auth
    if body is not None:
        request["body"] = body
    item: Item = {"name": name, "request": request, "response": []}
    events = [_event("prerequest", prerequest), _event("test", tests)]
    item["event"] = [e for e in events if e["script"]["exec"]]
    if not follow_redirects:
        item["protocolProfileBehavior"] = {"followRedirects": False}
    return item


def _event(listen: str, lines: list[str] | None) -> Item:
    return {"listen": listen, "script": {"type": "text/javascript", "exec": lines or []}}


def _form(fields: dict[str, str]) -> Item:
    pairs = [{"key": k, "value": v, "type": "text"} for k, v in fields.items()]
    return {"mode": "urlencoded", "urlencoded": pairs}


def _json_body(value: Any) -> Item:
    raw = json.dumps(value, indent=2, ensure_ascii=False)
    return {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}


def _bearer(variable: str) -> Item:
    return {"type": "bearer", "bearer": [{"key": "token", "value": f"{{{{{variable}}}}}"}]}


def _oauth2(fields: dict[str, str]) -> Item:
    fields = fields | {"headerPrefix": "Bearer", "addTokenTo": "header"}
    return {"type": "oauth2", "oauth2": [{"key": k, "value": v} for k, v in fields.items()]}


def _requests(items: list[Item]) -> list[Item]:
    """Every request of ``items``, folders opened, in run order."""
    found = []
    for item in items:
        found += _requests(item["item"]) if "item" in item else [item]
    return found


def _path_variables(item: Item) -> list[str]:
    return [v["key"] for v in item["request"]["url"].get("variable", [])]
