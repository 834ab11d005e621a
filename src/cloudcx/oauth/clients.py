"""OAuth clients: registration, lookup and client authentication (RFC 6749 §2.3)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.core import secrets
from cloudcx.core.cache import RecordCache
from cloudcx.oauth.errors import InvalidClientError
from cloudcx.oauth.forms import ClientCredentials
from cloudcx.oauth.models import OAuthClient
from cloudcx.oauth.scopes import SCOPES

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


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What the token endpoint and the API need of a client: an immutable copy of
    its row, safe to share across requests (an ORM object belongs to one session)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    client_id: str
    client_name: str
    description: str
    secret_digest: str | None
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    access_token_ttl: int | None
    refresh_token_ttl: int | None
    skip_consent: bool
    is_enabled: bool
    require_dpop: bool = False
    id_token_signed_response_alg: str | None = None

    @classmethod
    def of(cls, client: OAuthClient) -> ClientInfo:
        return cls(
            id=client.id,
            tenant_id=client.tenant_id,
            client_id=client.client_id,
            client_name=client.client_name,
            description=client.description,
            secret_digest=client.secret_digest,
            redirect_uris=tuple(client.redirect_uris),
            grant_types=tuple(client.grant_types),
            scopes=tuple(client.scopes),
            access_token_ttl=client.access_token_ttl,
            refresh_token_ttl=client.refresh_token_ttl,
            skip_consent=client.skip_consent,
            is_enabled=client.is_enabled,
            require_dpop=client.require_dpop,
            id_token_signed_response_alg=client.id_token_signed_response_alg,
        )

    @property
    def is_confidential(self) -> bool:
        return self.secret_digest is not None

    @property
    def client_type(self) -> str:
        return "confidential" if self.is_confidential else "public"


# Either form of a client, for code that only reads it.
AnyClient = OAuthClient | ClientInfo


class ClientDirectory:
    """``(tenant, client_id)`` → ``ClientInfo``, cached; the change feed drops an
    entry when its client is changed or deleted."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl: float) -> None:
        self._sessionmaker = sessionmaker
        self.cache: RecordCache[tuple[uuid.UUID, str], ClientInfo] = RecordCache(ttl)

    async def get(self, tenant_id: uuid.UUID, client_id: str) -> ClientInfo | None:
        if len(client_id) > 64:
            return None

        async def load() -> ClientInfo | None:
            async with self._sessionmaker() as session:
                found = await find_by_client_id(session, tenant_id, client_id)
                return ClientInfo.of(found) if found is not None else None

        return await self.cache.get((tenant_id, client_id), load)

    def changed(self, client: OAuthClient) -> None:
        self.cache.invalidate((client.tenant_id, client.client_id))


async def create_client(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    client_name: str,
    description: str = "",
    created_by: uuid.UUID | None = None,
    scopes: Sequence[str] | None = None,
) -> OAuthClient:
    """``scopes`` None allows every scope (the command line's client); the Control
    Panel passes what the administrator ticked."""
    name, desc = clean_details(client_name, description)
    client = OAuthClient(
        tenant_id=tenant_id,
        client_id=secrets.client_id(),
        client_name=name,
        description=desc,
        created_by=created_by,
    )
    if scopes is not None:
        client.scopes = [s for s in SCOPES if s in scopes]
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
    directory: ClientDirectory, tenant_id: uuid.UUID, creds: ClientCredentials
) -> ClientInfo:
    """The client these credentials prove, or InvalidClientError.

    A public client is identified by ``client_id`` alone. A confidential client
    must present its secret, compared by SHA-256 digest in constant time.
    """
    basic = creds.method == "client_secret_basic"
    if not creds.client_id:
        raise InvalidClientError("Client authentication failed.", basic=basic)
    client = await directory.get(tenant_id, creds.client_id)
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
