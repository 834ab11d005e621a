"""RFC 6749 §4.1.1-§4.1.2.1: the authorization endpoint and its consent page."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import csrf_from, login
from tests.oauth.flows import (
    REDIRECT_URI,
    authorize_params,
    configure,
    consent,
    query_of,
)

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def signed_in(http: httpx.AsyncClient, admin: User) -> User:
    await login(http, admin.email)
    return admin


async def test_signed_out_user_signs_in_then_returns(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    params = authorize_params(client)
    response = await http.get("/oauth/authorize", params=params)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login?next=%2Foauth%2Fauthorize%3F")
    page = await http.get(location)
    next_value = page.text.split('name="next" value="', 1)[1].split('"', 1)[0]
    signed = await http.post(
        "/login",
        data={
            "email": "admin@acme.example",
            "password": "a-long-and-Good-passw0rd",
            "csrf_token": csrf_from(page.text),
            "next": next_value.replace("&amp;", "&"),
        },
    )
    assert signed.status_code == 303
    back = await http.get(signed.headers["location"])
    assert back.status_code == 200
    assert "Allow" in back.text


async def test_consent_page_shows_client_scopes_and_account(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="tickets:read profile")
    )
    assert response.status_code == 200
    html = response.text
    assert "Helpdesk Sync" in html
    assert "Syncs tickets." in html
    assert "View tickets and their conversations" in html
    assert "See your name, email address and role" in html
    assert "Create and update contacts" not in html
    assert signed_in.email in html
    assert (
        '<button type="submit" name="decision" value="allow" class="primary">Allow</button>' in html
    )
    assert '<button type="submit" name="decision" value="deny">Deny</button>' in html
    assert response.headers["cache-control"] == "no-store"


async def test_consent_page_cannot_be_framed(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await http.get("/oauth/authorize", params=authorize_params(client))
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_consent_form_may_redirect_only_to_the_clients_origin(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    """Browsers apply CSP form-action to the redirect after Allow/Deny as well."""
    response = await http.get("/oauth/authorize", params=authorize_params(client))
    policy = response.headers["content-security-policy"]
    target = urlsplit(REDIRECT_URI)
    assert f"form-action 'self' {target.scheme}://{target.netloc};" in policy
    assert "script-src 'self';" in policy


async def test_allow_redirects_with_code_state_and_issuer(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await consent(http, authorize_params(client))
    assert response.status_code == 303
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    query = query_of(response)
    assert len(query["code"]) >= 43  # 256 bits, base64url
    assert query["state"] == "xyz-state"
    assert query["iss"] == "http://localhost"


async def test_deny_redirects_with_access_denied(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await consent(http, authorize_params(client), decision="deny")
    assert response.status_code == 303
    query = query_of(response)
    assert query["error"] == "access_denied"
    assert query["state"] == "xyz-state"
    assert "error_description" in query
    assert "code" not in query


async def test_consent_post_needs_csrf(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await http.post(
        "/oauth/authorize", data={**authorize_params(client), "decision": "allow"}
    )
    assert response.status_code == 403
    assert "location" not in response.headers


async def test_redirect_uri_may_be_omitted_when_one_is_registered(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await consent(http, authorize_params(client, redirect_uri=None))
    assert response.headers["location"].startswith(REDIRECT_URI + "?code=")


async def test_registered_query_is_kept(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    uri = "https://app.example/cb?tenant=7"
    client = await configure(db, oauth_client, redirect_uris=[uri])
    response = await consent(http, authorize_params(client, redirect_uri=uri))
    assert response.headers["location"].startswith(uri + "&code=")


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": None},
        {"client_id": "no-such-client"},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": REDIRECT_URI + "/"},
        {"redirect_uri": REDIRECT_URI.upper()},
        {"redirect_uri": REDIRECT_URI + "?x=1"},
    ],
    ids=[
        "no-client_id",
        "unknown-client_id",
        "unregistered-redirect_uri",
        "redirect_uri-with-extra-slash",
        "redirect_uri-other-case",
        "redirect_uri-with-extra-query",
    ],
)
async def test_untrusted_client_or_redirect_shows_error_page(
    http: httpx.AsyncClient,
    client: OAuthClient,
    signed_in: User,
    overrides: dict[str, str | None],
) -> None:
    response = await http.get("/oauth/authorize", params=authorize_params(client, **overrides))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "not valid" in response.text


async def test_omitted_redirect_uri_with_two_registered_shows_error_page(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    client = await configure(
        db, oauth_client, redirect_uris=[REDIRECT_URI, "https://app.example/other"]
    )
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, redirect_uri=None)
    )
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_repeated_redirect_uri_shows_error_page(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    query = httpx.QueryParams(authorize_params(client)).add("redirect_uri", REDIRECT_URI)
    response = await http.get("/oauth/authorize", params=query)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_disabled_client_shows_error_page(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    client = await configure(db, oauth_client, is_enabled=False)
    response = await http.get("/oauth/authorize", params=authorize_params(client))
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_client_of_another_tenant_shows_error_page(
    http: httpx.AsyncClient, client: OAuthClient, other_tenant: TenantInfo
) -> None:
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client), headers={"Host": "globex.example"}
    )
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code token"}, "unsupported_response_type"),
        ({"scope": "tickets:read no-such-scope"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ],
    ids=[
        "no-response_type",
        "implicit-response_type",
        "hybrid-response_type",
        "unknown-scope",
        "pkce-plain",
        "public-client-without-pkce",
    ],
)
async def test_errors_redirect_with_error_description_and_state(
    http: httpx.AsyncClient,
    client: OAuthClient,
    signed_in: User,
    overrides: dict[str, str | None],
    error: str,
) -> None:
    response = await http.get("/oauth/authorize", params=authorize_params(client, **overrides))
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    query = query_of(response)
    assert query["error"] == error
    assert query["error_description"]
    assert query["state"] == "xyz-state"
    assert "code" not in query


async def test_echoed_scope_keeps_to_the_error_description_charset(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    """RFC 6749 §4.1.2.1: the redirect's error_description has the same charset as §5.2."""
    params = authorize_params(client, scope='tickets:read "\u00e9\\\u4e2d')
    response = await http.get("/oauth/authorize", params=params)
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] == "invalid_scope"
    assert query["error_description"] == "Unknown scope: 'e/?."


async def test_scope_the_client_may_not_have_is_invalid_scope(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    client = await configure(db, oauth_client, scopes=["tickets:read"])
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="tickets:write")
    )
    assert query_of(response)["error"] == "invalid_scope"


async def test_client_without_code_grant_is_unauthorized_client(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, signed_in: User
) -> None:
    client = await configure(db, oauth_client, grant_types=["password"])
    response = await http.get("/oauth/authorize", params=authorize_params(client))
    assert query_of(response)["error"] == "unauthorized_client"


async def test_repeated_state_is_invalid_request(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    query = httpx.QueryParams(authorize_params(client)).add("state", "other")
    response = await http.get("/oauth/authorize", params=query)
    assert query_of(response)["error"] == "invalid_request"


async def test_agent_gets_only_scopes_of_their_role(
    http: httpx.AsyncClient, client: OAuthClient, agent: User
) -> None:
    await login(http, agent.email)
    page = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="tickets:read audit:read")
    )
    assert "View tickets and their conversations" in page.text
    assert "Read the security audit log" not in page.text


async def test_agent_asking_only_for_admin_scopes_is_invalid_scope(
    http: httpx.AsyncClient, client: OAuthClient, agent: User
) -> None:
    await login(http, agent.email)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="audit:read")
    )
    assert query_of(response)["error"] == "invalid_scope"


class TestSkipConsent:
    """A client that already holds a grant for the same or wider scopes may skip."""

    async def test_off_by_default(
        self, http: httpx.AsyncClient, client: OAuthClient, signed_in: User
    ) -> None:
        await consent(http, authorize_params(client))
        again = await http.get("/oauth/authorize", params=authorize_params(client))
        assert again.status_code == 200
        assert "Allow" in again.text

    async def test_skips_when_already_granted(
        self,
        http: httpx.AsyncClient,
        db: AsyncSession,
        oauth_client: OAuthClient,
        signed_in: User,
    ) -> None:
        client = await configure(db, oauth_client, skip_consent=True)
        await consent(http, authorize_params(client, scope="tickets:read tickets:write"))
        again = await http.get(
            "/oauth/authorize", params=authorize_params(client, scope="tickets:read")
        )
        assert again.status_code == 302
        assert "code" in query_of(again)

    async def test_asks_again_for_wider_scopes(
        self,
        http: httpx.AsyncClient,
        db: AsyncSession,
        oauth_client: OAuthClient,
        signed_in: User,
    ) -> None:
        client = await configure(db, oauth_client, skip_consent=True)
        await consent(http, authorize_params(client, scope="tickets:read"))
        again = await http.get(
            "/oauth/authorize", params=authorize_params(client, scope="tickets:read profile")
        )
        assert again.status_code == 200

    async def test_never_skips_first_time(
        self,
        http: httpx.AsyncClient,
        db: AsyncSession,
        oauth_client: OAuthClient,
        signed_in: User,
    ) -> None:
        client = await configure(db, oauth_client, skip_consent=True)
        response = await http.get("/oauth/authorize", params=authorize_params(client))
        assert response.status_code == 200


async def test_consent_post_revalidates_parameters(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    """A tampered hidden field cannot widen the request: the POST checks again."""
    page = await http.get("/oauth/authorize", params=authorize_params(client))
    response = await http.post(
        "/oauth/authorize",
        data={
            **authorize_params(client, redirect_uri="https://evil.example/cb"),
            "csrf_token": csrf_from(page.text),
            "decision": "allow",
        },
    )
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_overlong_redirect_uri_is_never_truncated_into_a_match(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, redirect_uri=REDIRECT_URI + "x" * 3000)
    )
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_overlong_state_is_invalid_request(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    response = await http.get("/oauth/authorize", params=authorize_params(client, state="s" * 3000))
    query = query_of(response)
    assert query["error"] == "invalid_request"
    assert "state" not in query


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
async def test_nul_in_client_id_or_redirect_uri_shows_error_page(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User, name: str
) -> None:
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, **{name: "abc\x00def"})
    )
    assert response.status_code == 400
    assert "location" not in response.headers
