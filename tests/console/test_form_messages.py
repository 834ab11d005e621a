"""Every console form speaks the product's words beside the field, never a library's."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.cxapi import make_ticket
from tests.helpers import form_post, login

LIBRARY_WORDS = re.compile(
    r"String should|Input should|Value error|value is not|Field required|valid UUID|"
    r"at least 1 character|pydantic",
    re.I,
)


def error_beside(html: str, field: str) -> str:
    """The message of ``field``: tied to the control by aria-describedby."""
    control = re.search(rf'<(?:input|select|textarea)[^>]*id="{field}"[^>]*>', html)
    assert control, f"no control {field}"
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', control.group(0))
    assert described, control.group(0)
    for target in described.group(1).split():
        found = re.search(rf'<p class="error" id="{target}">([^<]+)</p>', html)
        if found:
            return found.group(1)
    raise AssertionError(f"no error message beside {field}")


@pytest.mark.parametrize(
    ("path", "data", "field", "message"),
    [
        ("/users/new", {"email": "nope", "password": "x" * 20}, "email",
         "Enter an email address like name@example.com."),
        ("/users/new", {"email": "g@acme.example", "password": "short"}, "password",
         "Initial password needs at least 12 characters."),
        ("/tickets/new", {"subject": " "}, "subject", "Subject is required."),
        ("/tickets/new", {"subject": "x", "channel": "pigeon"}, "channel",
         "Choose a channel from the list."),
        ("/contacts/new", {"first_name": "A", "email": "a@"}, "email",
         "Enter an email address like name@example.com."),
        ("/contacts/new", {"first_name": "A", "tags": "not/ok!"}, "tags",
         "Tags are single words of letters, digits and - _ . : / (50 characters at most)."),
        ("/settings/security/oauth-clients/new", {"client_name": ""}, "client_name",
         "Client name is required."),
        ("/settings/security/api-keys/new", {"name": "", "expires": "30"}, "name",
         "Enter a name of 1 to 100 characters."),
    ],
    ids=["user-email", "user-password", "subject", "channel", "contact-email", "contact-tags",
         "client-name", "api-key-name"],
)  # fmt: skip
async def test_messages_in_the_products_words(
    http: httpx.AsyncClient,
    admin: User,
    path: str,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    await login(http, admin.email)
    response = await form_post(http, path, data)
    assert response.status_code == 422
    assert error_beside(response.text, field) == message
    assert not LIBRARY_WORDS.search(response.text)


async def test_ticket_property_errors_are_beside_the_field(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, agent: User
) -> None:
    ticket = await make_ticket(db, tenant)
    await login(http, agent.email)
    response = await form_post(
        http, f"/tickets/{ticket.id}", {"status": "open", "priority": "p0", "assignee_id": "x"}
    )
    assert response.status_code == 422
    assert error_beside(response.text, "priority") == "Choose a priority from the list."
    assert error_beside(response.text, "assignee_id") == "Choose an assignee from the list."
    assert not LIBRARY_WORDS.search(response.text)


async def test_client_settings_errors_are_beside_the_field(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient
) -> None:
    await login(http, admin.email)
    url = f"/settings/security/oauth-clients/{oauth_client.id}/edit"
    response = await form_post(
        http, url, {"client_name": "ok", "access_token_ttl": "5", "is_enabled": "on"}
    )
    assert response.status_code == 422
    assert error_beside(response.text, "access_token_ttl").startswith("Enter a number of seconds")
