"""Every model, imported once so the metadata is complete (Alembic, tests)."""

from cloudcx.accounts.models import Role, User, WebSession
from cloudcx.audit.models import AuditEvent
from cloudcx.db import Base
from cloudcx.oauth.models import (
    AuthorizationCode,
    OAuthClient,
    OAuthConsent,
    RefreshToken,
    Revocation,
    SigningKey,
)
from cloudcx.tenancy.models import Tenant, TenantDomain
from cloudcx.tickets.models import Ticket

metadata = Base.metadata

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "OAuthClient",
    "OAuthConsent",
    "RefreshToken",
    "Revocation",
    "Role",
    "SigningKey",
    "Tenant",
    "TenantDomain",
    "Ticket",
    "User",
    "WebSession",
    "metadata",
]
