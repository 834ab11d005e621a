"""RFC 6749 §3.2 and §5.2: how the token endpoint reads requests and reports errors."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.core import secrets
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import password_form

pytestmark = pytest.mark.usefixtures("admin")


def form(client: OAuthClient, **overrides: str | None) -> dict[str, str]:
    return password_form(**{"client_id": client.client_id, **overrides})


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert "error_description" in response.json()


async def test_success_response_is_rfc6749_5_1(
    http: httpx.AsyncClient, oauth_client: OAuthClient
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2
    assert "tickets:read" in body["scope"].split()
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"grant_type": "password"}'),
        ("multipart/form-data; boundary=x", b"--x--"),
        ("text/plain", b"grant_type=password"),
        ("", b"grant_type=password"),
    ],
    ids=["json", "multipart", "text-plain", "no-content-type"],
)
async def test_only_form_encoding_is_accepted(
    http: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await http.post("/oauth/token", content=body, headers=headers)
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "raw",
    [
        "grant_type=password&grant_type=password",
        "grant_type=password&client_id=a&client_id=b",
        "grant_type=password&password=x&password=x",
    ],
    ids=["repeated-grant_type", "repeated-client_id", "repeated-password"],
)
async def test_repeated_parameter_is_invalid_request(http: httpx.AsyncClient, raw: str) -> None:
    response = await http.post(
        "/oauth/token",
        content=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "overrides",
    [
        {"grant_type": None},
        {"grant_type": ""},
        {"password": None},
        {"email": None},
        {"email": "a@acme.example", "username": "b@acme.example"},
    ],
    ids=[
        "no-grant_type",
        "empty-grant_type",
        "no-password",
        "no-email-or-username",
        "email-and-username-differ",
    ],
)
async def test_missing_parameters_are_invalid_request(
    http: httpx.AsyncClient, oauth_client: OAuthClient, overrides: dict[str, str | None]
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client, **overrides))
    assert_oauth_error(response, 400, "invalid_request")


async def test_body_over_16_kib_is_invalid_request(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/token",
        content="grant_type=password&pad=" + "x" * 17_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_invalid_utf8_is_invalid_request(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/token",
        content=b"grant_type=password&email=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "grant_type", ["implicit", "urn:ietf:params:oauth:grant-type:device_code", "PASSWORD"]
)
async def test_unknown_grant_type_is_unsupported(
    http: httpx.AsyncClient, oauth_client: OAuthClient, grant_type: str
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client, grant_type=grant_type))
    assert_oauth_error(response, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    ("grant_type", "description"),
    [
        ('x"\u00e9\\y', "The grant type 'x'e/y' is not supported."),
        ("\uff41\u00df\n\u20ac", "The grant type 'a???' is not supported."),
    ],
    ids=["quote-accent-backslash", "fullwidth-nonascii-control"],
)
async def test_echoed_input_keeps_to_the_error_description_charset(
    http: httpx.AsyncClient, oauth_client: OAuthClient, grant_type: str, description: str
) -> None:
    """RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )."""
    response = await http.post("/oauth/token", data=form(oauth_client, grant_type=grant_type))
    assert_oauth_error(response, 400, "unsupported_grant_type")
    assert response.json()["error_description"] == description


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": None}, {"client_id": "no-such-client"}, {"client_id": "x" * 500}],
    ids=["no-client_id", "unknown-client_id", "huge-client_id"],
)
async def test_unknown_client_is_invalid_client(
    http: httpx.AsyncClient, oauth_client: OAuthClient, overrides: dict[str, str | None]
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client, **overrides))
    assert_oauth_error(response, 401, "invalid_client")
    assert "www-authenticate" not in response.headers


async def test_basic_auth_failure_carries_www_authenticate(
    http: httpx.AsyncClient, oauth_client: OAuthClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data=form(oauth_client, client_id=None),
        headers=basic("no-such-client", "secret"),
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "header",
    ["Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest abc"],
    ids=["bad-base64", "no-colon", "other-scheme"],
)
async def test_malformed_authorization_header_is_invalid_client(
    http: httpx.AsyncClient, oauth_client: OAuthClient, header: str
) -> None:
    response = await http.post(
        "/oauth/token", data=form(oauth_client), headers={"Authorization": header}
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_client_of_another_tenant_is_unknown(
    http: httpx.AsyncClient, oauth_client: OAuthClient, other_tenant: TenantInfo
) -> None:
    response = await http.post(
        "/oauth/token", data=form(oauth_client), headers={"Host": "globex.example"}
    )
    assert_oauth_error(response, 401, "invalid_client")


async def test_disabled_client_is_invalid_client(
    http: httpx.AsyncClient, oauth_client: OAuthClient, db: AsyncSession
) -> None:
    oauth_client.is_enabled = False
    await db.merge(oauth_client)
    await db.commit()
    response = await http.post("/oauth/token", data=form(oauth_client))
    assert_oauth_error(response, 401, "invalid_client")


class TestConfidentialClient:
    """RFC 6749 §2.3.1: a client with a secret authenticates by Basic or body."""

    SECRET = "s3cr3t-value-with-enough-entropy-for-the-test-0123456789"

    @pytest.fixture
    async def confidential(self, db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
        oauth_client.secret_digest = secrets.digest(self.SECRET)
        await db.merge(oauth_client)
        await db.commit()
        return oauth_client

    async def test_secret_in_body(self, http: httpx.AsyncClient, confidential: OAuthClient) -> None:
        response = await http.post(
            "/oauth/token", data=form(confidential, client_secret=self.SECRET)
        )
        assert response.status_code == 200, response.text

    async def test_secret_by_basic(
        self, http: httpx.AsyncClient, confidential: OAuthClient
    ) -> None:
        response = await http.post(
            "/oauth/token",
            data=form(confidential, client_id=None),
            headers=basic(confidential.client_id, self.SECRET),
        )
        assert response.status_code == 200, response.text

    async def test_basic_credentials_are_form_decoded(
        self, http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient
    ) -> None:
        odd = "a+b:c%d"  # sent form-encoded inside Basic, as §2.3.1 requires
        oauth_client.secret_digest = secrets.digest(odd)
        await db.merge(oauth_client)
        await db.commit()
        response = await http.post(
            "/oauth/token",
            data=form(oauth_client, client_id=None),
            headers=basic(oauth_client.client_id, "a%2Bb%3Ac%25d"),
        )
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "secret",
        [None, "wrong", SECRET + "x", SECRET[:-1]],
        ids=["no-secret", "wrong-secret", "longer-secret", "shorter-secret"],
    )
    async def test_wrong_or_missing_secret(
        self, http: httpx.AsyncClient, confidential: OAuthClient, secret: str | None
    ) -> None:
        response = await http.post("/oauth/token", data=form(confidential, client_secret=secret))
        assert_oauth_error(response, 401, "invalid_client")

    async def test_wrong_secret_by_basic_has_challenge(
        self, http: httpx.AsyncClient, confidential: OAuthClient
    ) -> None:
        response = await http.post(
            "/oauth/token",
            data=form(confidential, client_id=None),
            headers=basic(confidential.client_id, "wrong"),
        )
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"] == 'Basic realm="oauth"'

    async def test_two_authentication_methods_are_refused(
        self, http: httpx.AsyncClient, confidential: OAuthClient
    ) -> None:
        response = await http.post(
            "/oauth/token",
            data=form(confidential, client_id=None, client_secret=self.SECRET),
            headers=basic(confidential.client_id, self.SECRET),
        )
        assert_oauth_error(response, 400, "invalid_request")


async def test_secret_sent_for_public_client_is_invalid_client(
    http: httpx.AsyncClient, oauth_client: OAuthClient
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client, client_secret="guess"))
    assert_oauth_error(response, 401, "invalid_client")


async def test_public_client_by_basic_with_empty_secret(
    http: httpx.AsyncClient, oauth_client: OAuthClient
) -> None:
    """Some libraries send a public client's id as Basic with an empty password."""
    response = await http.post(
        "/oauth/token",
        data=form(oauth_client, client_id=None),
        headers=basic(oauth_client.client_id, ""),
    )
    assert response.status_code == 200, response.text


async def test_unknown_host_is_404(http: httpx.AsyncClient, oauth_client: OAuthClient) -> None:
    response = await http.post(
        "/oauth/token", data=form(oauth_client), headers={"Host": "nobody.example"}
    )
    assert response.status_code == 404


async def test_get_is_not_allowed(http: httpx.AsyncClient, admin: User) -> None:
    response = await http.get("/oauth/token")
    assert response.status_code == 405
