from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudcx.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow
from cloudcx.oauth.scopes import DEFAULT_CLIENT_SCOPES

# A new client is the guide's kind: public, allowed the password grant.
DEFAULT_GRANT_TYPES = ["password"]


class OAuthClient(IdMixin, TimestampMixin, Base):
    """A third-party application registered by a tenant administrator.

    ``client_name`` and ``description`` are what users see when asked to grant
    access and in their list of connected apps (the guide's words).
    """

    __tablename__ = "oauth_clients"
    __table_args__ = (Index("ix_oauth_clients_tenant_created", "tenant_id", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    # SHA-256 of the client secret; None for a public client.
    secret_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    # OpenID Connect RP-Initiated Logout 1.0 §3.1: matched exactly, like redirect_uris.
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    # OpenID Connect Registration §2 ``id_token_signed_response_alg``; None is RS256.
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(String(16), default=None)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_GRANT_TYPES))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_CLIENT_SCOPES))
    access_token_ttl: Mapped[int | None] = mapped_column(default=None)
    refresh_token_ttl: Mapped[int | None] = mapped_column(default=None)
    skip_consent: Mapped[bool] = mapped_column(default=False)
    # RFC 9126 §4: the authorization endpoint takes only pushed requests from it.
    require_par: Mapped[bool] = mapped_column(default=False)
    # RFC 9449 §5.2 ``dpop_bound_access_tokens``: token requests without a DPoP
    # proof are refused, so every token of the client is bound to a key.
    require_dpop: Mapped[bool] = mapped_column(default=False)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def is_confidential(self) -> bool:
        return self.secret_digest is not None

    @property
    def client_type(self) -> str:
        return "confidential" if self.is_confidential else "public"


class SigningKey(TimestampMixin, Base):
    """A JWS signing key pair. Platform-wide: tokens name their tenant in claims.

    The private key is stored encrypted (``core.encryption``); the public JWK is
    published in the JWKS until ``expires_at``, i.e. until every token it signed
    has expired after the key was retired.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Revocation(Base):
    """One revoked thing: an access token (by ``jti``), a grant, a client or a user.

    Access tokens are JWTs checked without a database query, so revoking one
    means every process must learn of it: each process mirrors the recent rows
    of this table in memory (``oauth.revocation``). A row can be dropped once
    every token it could match has expired (``expires_at``).
    """

    __tablename__ = "revocations"
    __table_args__ = (
        Index("ix_revocations_created", "created_at"),
        # One row per revoked thing, however often it is revoked (oauth.revocation).
        Index("uq_revocations_tenant_kind_value", "tenant_id", "kind", "value", unique=True),
        Index("ix_revocations_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OAuthConsent(IdMixin, TimestampMixin, Base):
    """A user's grant of access to a client: one row per user and client.

    It is what the user's Connected apps page lists (``created_at`` is when the
    app was first granted access) and what lets a client skip the consent page
    when it asks for no more than was already granted.
    """

    __tablename__ = "oauth_consents"
    __table_args__ = (
        Index("uq_oauth_consents_user_client", "user_id", "client_pk", unique=True),
        Index("ix_oauth_consents_client", "client_pk"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AuthorizationCode(Base):
    """An authorization code (RFC 6749 §4.1.2), stored only as its SHA-256 digest.

    Bound to the client, redirect URI, user, scope and PKCE challenge. ``used_at``
    makes it single use; ``family_id`` names the tokens issued from it so that a
    second use can revoke them (§4.1.2).
    """

    __tablename__ = "oauth_authorization_codes"
    # Housekeeping deletes by expiry in batches (cloudcx.jobs): one index range each.
    __table_args__ = (Index("ix_oauth_authorization_codes_expires", "expires_at"),)

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_pk: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    # §4.1.3: the token request must repeat redirect_uri only if the request had it.
    redirect_uri_sent: Mapped[bool] = mapped_column(default=True)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    # RFC 9449 §10 ``dpop_jkt``: the token request must carry a proof of this key.
    dpop_jkt: Mapped[str | None] = mapped_column(String(43), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    family_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # OpenID Connect: the request's nonce and the sign-in the ID token describes.
    nonce: Mapped[str | None] = mapped_column(Text, default=None)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sid: Mapped[str | None] = mapped_column(String(64), default=None)


class RefreshToken(IdMixin, TimestampMixin, Base):
    """A refresh token (RFC 6749 §6), stored only as its SHA-256 digest.

    Every use rotates it: the presented row gets ``rotated_at`` and a new row of
    the same ``family_id`` is issued. Presenting a rotated token again means it
    was copied, so the whole family is revoked (RFC 9700 §4.14.2).
    """

    __tablename__ = "oauth_refresh_tokens"
    __table_args__ = (
        Index("ix_oauth_refresh_tokens_family", "family_id"),
        Index("ix_oauth_refresh_tokens_client", "client_pk"),
        Index("ix_oauth_refresh_tokens_expires", "expires_at"),
    )

    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # RFC 9449 §5: a public client's refresh token is bound to the DPoP key of the
    # request that got it (its RFC 7638 thumbprint); None when unbound.
    dpop_jkt: Mapped[str | None] = mapped_column(String(43), default=None)
    # OpenID Connect: the sign-in behind the family, for the ID tokens of refreshes.
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sid: Mapped[str | None] = mapped_column(String(64), default=None)


class PushedAuthorizationRequest(Base):
    """An authorization request pushed to ``/oauth/par`` (RFC 9126 §2), kept briefly.

    Stored by the SHA-256 digest of its ``request_uri``'s random part, bound to
    the tenant and the client that pushed it. ``shown_to`` is set when the
    consent page shows it to a user, ``used_at`` when that user's decision
    consumes it: each happens once (``oauth.par``).
    """

    __tablename__ = "oauth_pushed_requests"
    __table_args__ = (Index("ix_oauth_pushed_requests_expires", "expires_at"),)

    request_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    client_pk: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    params: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    shown_to: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
