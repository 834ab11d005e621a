"""OAuth clients: registration, lookup and client authentication (RFC 6749 §2.3)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.core import secrets
from cloudcx.oauth.errors import InvalidClientError
from cloudcx.oauth.forms import ClientCredentials
from cloudcx.oauth.models import OAuthClient

NAME_MAX = 100
DESCRIPTION_MAX = 500


class ClientFormError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def clean_details(client_name: str, description: str) -> tuple[str, str]:
    """Validate the guide's two fields; raise ClientFormError naming each bad field."""
    name, desc = client_name.strip(), description.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["client_name"] = "Client name is required."
    elif len(name) > NAME_MAX:
        errors["client_name"] = f"Client name must be at most {NAME_MAX} characters."
    if "\x00" in name:
        errors["client_name"] = "Client name contains an invalid character."
    if "\x00" in desc:
        errors["description"] = "Description contains an invalid character."
    elif len(desc) > DESCRIPTION_MAX:
        errors["description"] = f"Description must be at most {DESCRIPTION_MAX} characters."
    if errors:
        raise ClientFormError(errors)
    return name, desc


async def create_client(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    client_name: str,
    description: str = "",
    created_by: uuid.UUID | None = None,
) -> OAuthClient:
    name, desc = clean_details(client_name, description)
    client = OAuthClient(
        tenant_id=tenant_id,
        client_id=secrets.client_id(),
        client_name=name,
        description=desc,
        created_by=created_by,
    )
    session.add(client)
    await session.flush()
    return client


async def list_clients(session: AsyncSession, tenant_id: uuid.UUID) -> list[OAuthClient]:
    rows = await session.scalars(
        select(OAuthClient)
        .where(OAuthClient.tenant_id == tenant_id)
        .order_by(OAuthClient.created_at.desc(), OAuthClient.id)
    )
    return list(rows)


async def get_client(
    session: AsyncSession, tenant_id: uuid.UUID, id_: uuid.UUID
) -> OAuthClient | None:
    return await session.scalar(
        select(OAuthClient).where(OAuthClient.tenant_id == tenant_id, OAuthClient.id == id_)
    )


async def find_by_client_id(
    session: AsyncSession, tenant_id: uuid.UUID, client_id: str
) -> OAuthClient | None:
    """A client of this tenant only: another tenant's client is simply unknown here."""
    if len(client_id) > 64:
        return None
    return await session.scalar(
        select(OAuthClient).where(
            OAuthClient.tenant_id == tenant_id, OAuthClient.client_id == client_id
        )
    )


async def authenticate(
    session: AsyncSession, tenant_id: uuid.UUID, creds: ClientCredentials
) -> OAuthClient:
    """The client these credentials prove, or InvalidClientError.

    A public client is identified by ``client_id`` alone. A confidential client
    must present its secret, compared by SHA-256 digest in constant time.
    """
    basic = creds.method == "client_secret_basic"
    if not creds.client_id:
        raise InvalidClientError("Client authentication failed.", basic=basic)
    client = await find_by_client_id(session, tenant_id, creds.client_id)
    if client is None or not client.is_enabled:
        raise InvalidClientError("Client authentication failed.", basic=basic)
    if client.is_confidential:
        if creds.client_secret is None or not secrets.matches(
            creds.client_secret, client.secret_digest
        ):
            raise InvalidClientError("Client authentication failed.", basic=basic)
    elif creds.client_secret is not None:
        # A secret sent for a client that has none is wrong, not ignorable.
        raise InvalidClientError("Client authentication failed.", basic=basic)
    return client
