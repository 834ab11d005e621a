"""Every model, imported once so the metadata is complete (Alembic, tests)."""

from cloudcx.accounts.models import Role, User, WebSession
from cloudcx.accounts.recovery_codes import RecoveryCode
from cloudcx.api.models import IdempotencyRecord
from cloudcx.apikeys.models import ApiKey
from cloudcx.audit.models import AuditEvent
from cloudcx.contacts.models import Contact
from cloudcx.db import Base
from cloudcx.oauth.models import (
    AuthorizationCode,
    OAuthClient,
    OAuthConsent,
    RefreshToken,
    Revocation,
    SigningKey,
)
from cloudcx.shown_once.models import ShownOnce
from cloudcx.tenancy.models import Tenant, TenantDomain
from cloudcx.tickets.models import Message, Ticket, TicketCounter, TicketEvent, TicketTag
from cloudcx.tickets.search import TicketSearch
from cloudcx.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuthorizationCode",
    "Contact",
    "IdempotencyRecord",
    "Message",
    "OAuthClient",
    "OAuthConsent",
    "RecoveryCode",
    "RefreshToken",
    "Revocation",
    "Role",
    "ShownOnce",
    "SigningKey",
    "Tenant",
    "TenantDomain",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketSearch",
    "TicketTag",
    "User",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "metadata",
]
