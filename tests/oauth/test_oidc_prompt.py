"""OpenID Connect Core §3.1.2.1, §3.1.2.6: prompt, max_age and login_hint."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User, WebSession
from cloudcx.db import utcnow
from cloudcx.oauth import oidc
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from tests import two_factor
from tests.helpers import PASSWORD, csrf_from, login
from tests.oauth.flows import REDIRECT_URI, authorize_params, configure, exchange, query_of
from tests.oauth.oidc import decode_id_token

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def trusted(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    """A client allowed to skip the consent page once the user has consented."""
    return await configure(db, oauth_client, skip_consent=True)


async def _consented(http: httpx.AsyncClient, client: OAuthClient, email: str) -> None:
    await login(http, email)
    params = authorize_params(client, scope="openid profile")
    page = await http.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    allow = await http.post(
        "/oauth/authorize",
        data={**params, "csrf_token": csrf_from(page.text), "decision": "allow"},
    )
    assert allow.status_code == 303


async def _age_session(db: AsyncSession, user: User, seconds: int) -> None:
    """The browser's sign-in happened ``seconds`` ago."""
    await db.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id)
        .values(created_at=utcnow() - timedelta(seconds=seconds))
    )
    await db.commit()


def _next_of(response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    return location, query


@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("none login", id="none-with-login"),
        pytest.param("consent none", id="none-with-consent"),
        pytest.param("always", id="unknown-value"),
        pytest.param("login bogus", id="unknown-beside-known"),
    ],
)
async def test_bad_prompt_is_invalid_request(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, prompt: str
) -> None:
    await login(http, admin.email)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="openid", prompt=prompt)
    )
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] == "invalid_request"
    assert query["state"] == "xyz-state"
    assert query["iss"] == "http://localhost"


@pytest.mark.parametrize(
    "max_age", [pytest.param("-1", id="negative"), pytest.param("soon", id="not-a-number")]
)
async def test_bad_max_age_is_invalid_request(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, max_age: str
) -> None:
    await login(http, admin.email)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="openid", max_age=max_age)
    )
    assert query_of(response)["error"] == "invalid_request"


async def test_select_account_is_accepted(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    response = await http.get(
        "/oauth/authorize",
        params=authorize_params(client, scope="openid", prompt="select_account"),
    )
    assert response.status_code == 200
    assert "Allow" in response.text


async def test_prompt_none_without_session_is_login_required(
    http: httpx.AsyncClient, trusted: OAuthClient
) -> None:
    response = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", prompt="none")
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    query = query_of(response)
    assert query["error"] == "login_required"
    assert query["state"] == "xyz-state"


async def test_prompt_none_without_consent_is_consent_required(
    http: httpx.AsyncClient, trusted: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", prompt="none")
    )
    assert query_of(response)["error"] == "consent_required"


async def test_prompt_none_for_a_client_that_always_asks_is_consent_required(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    await _consented(http, client, admin.email)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(client, scope="openid", prompt="none")
    )
    assert query_of(response)["error"] == "consent_required"


async def test_prompt_none_with_consent_and_session_issues_a_code(
    http: httpx.AsyncClient, platform: Platform, trusted: OAuthClient, admin: User
) -> None:
    await _consented(http, trusted, admin.email)
    response = await http.get(
        "/oauth/authorize",
        params=authorize_params(trusted, scope="openid profile", prompt="none", nonce="silent"),
    )
    assert response.status_code == 302
    code = query_of(response)["code"]
    body = (await exchange(http, trusted, code)).json()
    assert decode_id_token(platform, body["id_token"], trusted.client_id)["nonce"] == "silent"


async def test_prompt_none_for_a_user_who_must_change_password_is_interaction_required(
    http: httpx.AsyncClient, db: AsyncSession, trusted: OAuthClient, admin: User
) -> None:
    await _consented(http, trusted, admin.email)
    admin.must_change_password = True
    await db.merge(admin)
    await db.commit()
    response = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", prompt="none")
    )
    assert query_of(response)["error"] == "interaction_required"


async def test_prompt_none_with_an_old_sign_in_and_max_age_is_login_required(
    http: httpx.AsyncClient, db: AsyncSession, trusted: OAuthClient, admin: User
) -> None:
    await _consented(http, trusted, admin.email)
    await _age_session(db, admin, 600)
    response = await http.get(
        "/oauth/authorize",
        params=authorize_params(trusted, scope="openid", prompt="none", max_age="300"),
    )
    assert query_of(response)["error"] == "login_required"


async def test_prompt_consent_shows_the_page_to_a_trusted_client(
    http: httpx.AsyncClient, trusted: OAuthClient, admin: User
) -> None:
    await _consented(http, trusted, admin.email)
    skipped = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid profile")
    )
    assert skipped.status_code == 302
    asked = await http.get(
        "/oauth/authorize",
        params=authorize_params(trusted, scope="openid profile", prompt="consent"),
    )
    assert asked.status_code == 200
    assert "Allow" in asked.text


async def _sign_in_again(http: httpx.AsyncClient, location: str) -> httpx.Response:
    page = await http.get(location)
    assert page.status_code == 200, "the sign-in form is shown to a signed-in user"
    next_value = page.text.split('name="next" value="', 1)[1].split('"', 1)[0]
    return await http.post(
        "/login",
        data={
            "email": "admin@acme.example",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": next_value.replace("&amp;", "&"),
        },
    )


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"prompt": "login"}, id="prompt-login"),
        pytest.param({"max_age": "0"}, id="max-age-zero"),
    ],
)
async def test_re_authentication_then_back_with_a_new_auth_time(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    trusted: OAuthClient,
    admin: User,
    extra: dict[str, str],
) -> None:
    await _consented(http, trusted, admin.email)
    await _age_session(db, admin, 3600)
    params = authorize_params(trusted, scope="openid profile", nonce="n1", **extra)
    response = await http.get("/oauth/authorize", params=params)
    assert response.status_code == 303
    location, query = _next_of(response)
    assert location.startswith("/login?")
    assert query["reauth"] == ["1"]
    back_to = query["next"][0]
    assert back_to.startswith("/oauth/authorize?")
    assert "prompt=login" not in back_to and "max_age" not in back_to
    assert "nonce=n1" in back_to
    signed = await _sign_in_again(http, location)
    assert signed.status_code == 303
    assert signed.headers["location"] == back_to
    answered = await http.get(back_to)
    assert answered.status_code == 302
    body = (await exchange(http, trusted, query_of(answered)["code"])).json()
    claims = decode_id_token(platform, body["id_token"], trusted.client_id)
    assert claims["iat"] - claims["auth_time"] < 60
    assert claims["nonce"] == "n1"


async def test_prompt_login_keeps_prompt_consent(
    http: httpx.AsyncClient, trusted: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    response = await http.get(
        "/oauth/authorize",
        params=authorize_params(trusted, scope="openid", prompt="login consent"),
    )
    _location, query = _next_of(response)
    assert "prompt=consent" in query["next"][0]


async def test_max_age_satisfied_by_a_recent_sign_in(
    http: httpx.AsyncClient, db: AsyncSession, trusted: OAuthClient, admin: User
) -> None:
    await _consented(http, trusted, admin.email)
    await _age_session(db, admin, 100)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", max_age="3600")
    )
    assert response.status_code == 302
    assert "code" in query_of(response)


async def test_max_age_older_sign_in_asks_to_sign_in_again(
    http: httpx.AsyncClient, db: AsyncSession, trusted: OAuthClient, admin: User
) -> None:
    await _consented(http, trusted, admin.email)
    await _age_session(db, admin, 600)
    response = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", max_age="300")
    )
    assert response.status_code == 303
    assert _next_of(response)[1]["reauth"] == ["1"]


async def test_login_hint_prefills_the_sign_in_form(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    response = await http.get(
        "/oauth/authorize",
        params=authorize_params(client, scope="openid", login_hint="agent@acme.example"),
    )
    assert response.status_code == 303
    location, query = _next_of(response)
    assert query["login_hint"] == ["agent@acme.example"]
    assert "reauth" not in query
    page = await http.get(location)
    assert 'value="agent@acme.example"' in page.text


async def test_login_hint_is_escaped(http: httpx.AsyncClient) -> None:
    page = await http.get("/login", params={"login_hint": '"><script>x</script>'})
    assert "<script>x" not in page.text
    assert "&#34;&gt;&lt;script&gt;" in page.text or "&quot;&gt;&lt;script&gt;" in page.text


async def test_signed_in_user_skips_the_login_page_without_reauth(
    http: httpx.AsyncClient, admin: User
) -> None:
    await login(http, admin.email)
    response = await http.get("/login", params={"next": "/account"})
    assert response.status_code == 303
    again = await http.get("/login", params={"next": "/account", "reauth": "1"})
    assert again.status_code == 200
    assert f'value="{admin.email}"' in again.text


async def test_prompt_login_with_two_factor_sign_in(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    trusted: OAuthClient,
    admin: User,
) -> None:
    """Signing in again asks for the second factor too, and keeps the session's sid."""
    await login(http, admin.email)
    secret, _codes = await two_factor.enrol(http)
    first = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", prompt="consent")
    )
    allow = await http.post(
        "/oauth/authorize",
        data={
            **authorize_params(trusted, scope="openid"),
            "csrf_token": csrf_from(first.text),
            "decision": "allow",
        },
    )
    before = (await exchange(http, trusted, query_of(allow)["code"])).json()
    sid = decode_id_token(platform, before["id_token"], trusted.client_id)["sid"]
    await _age_session(db, admin, 3600)

    response = await http.get(
        "/oauth/authorize", params=authorize_params(trusted, scope="openid", prompt="login")
    )
    location, query = _next_of(response)
    password = await _sign_in_again(http, location)
    assert password.headers["location"].startswith("/login/two-factor")
    page = await http.get(password.headers["location"])
    assert page.status_code == 200
    assert 'name="code"' in page.text, "the code form is shown to a signed-in user"
    done = await http.post(
        "/login/two-factor",
        data={
            "csrf_token": csrf_from(page.text),
            "code": two_factor.code(secret, 1),
            "next": page.text.split('name="next" value="', 1)[1]
            .split('"', 1)[0]
            .replace("&amp;", "&"),
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == query["next"][0]
    answered = await http.get(done.headers["location"])
    after = (await exchange(http, trusted, query_of(answered)["code"])).json()
    claims = decode_id_token(platform, after["id_token"], trusted.client_id)
    assert claims["sid"] == sid
    assert claims["iat"] - claims["auth_time"] < 60


async def test_prompt_none_with_login_hint_and_no_session_is_login_required(
    http: httpx.AsyncClient, trusted: OAuthClient
) -> None:
    response = await http.get(
        "/oauth/authorize",
        params=authorize_params(
            trusted, scope="openid", prompt="none", login_hint="admin@acme.example"
        ),
    )
    assert query_of(response)["error"] == "login_required"


@pytest.mark.parametrize(
    ("signed_in_ago", "expected"),
    [pytest.param(30, True, id="signed-in-before-the-request"),
     pytest.param(5, False, id="signed-in-since-the-request")],
)  # fmt: skip
def test_a_stored_request_is_satisfied_by_a_sign_in_made_since(
    signed_in_ago: int, expected: bool
) -> None:
    """A pushed request (RFC 9126) keeps its prompt=login: the sign-in made after it counts."""
    now = utcnow()
    asked = oidc.read({"prompt": "login"})
    user = User(email="a@b.example", must_change_password=False)
    web_session = WebSession(created_at=now - timedelta(seconds=signed_in_ago), sid="s")
    requested_at = now - timedelta(seconds=10)
    assert oidc.needs_sign_in(asked, user, web_session, requested_at) is expected
    assert oidc.needs_sign_in(asked, user, web_session) is True
