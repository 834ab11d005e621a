"""Recording audit events: ``record()`` inside a transaction; ``audit.writer`` beside one.

Every domain calls ``record()`` with the same few words — an ``Action``, an
``Actor``, an optional ``Target`` and the request's ``Origin`` — so the log
reads the same whoever wrote the event. ``details`` passes through ``clean``:
values under secret-looking names are replaced, so a careless caller cannot
put a password, secret or token into the log.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from cloudcx.accounts.directory import AnyUser
from cloudcx.audit.models import AuditEvent
from cloudcx.db import utcnow

log = logging.getLogger("cloudcx.audit")

_SECRET_WORDS = ("password", "secret", "token", "assertion", "verifier", "authorization", "cookie")
_EMAIL_SHAPE = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_SAFE_NAMES = frozenset({"token_type", "token_type_hint"})
REDACTED = "[redacted]"


class Action(StrEnum):
    """Every action the log knows; the Control Panel filter lists them."""

    SIGNIN_SUCCESS = "signin.success"
    SIGNIN_FAILURE = "signin.failure"
    SIGNOUT = "signout"
    SIGNOUT_EVERYWHERE = "signout.everywhere"
    PASSWORD_CHANGED = "password.changed"
    TOKEN_ISSUED = "token.issued"
    TOKEN_REFUSED = "token.refused"
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    CLIENT_DELETED = "client.deleted"
    CLIENT_SECRET_GENERATED = "client.secret_generated"
    CLIENT_DISABLED = "client.disabled"
    GRANT_REVOKED = "grant.revoked"
    REFRESH_TOKEN_REUSE_DETECTED = "refresh_token.reuse_detected"
    KEY_ROTATED = "key.rotated"
    USER_CREATED = "user.created"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_RENAMED = "user.renamed"
    USER_PASSWORD_RESET = "user.password_reset"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    API_KEY_DEACTIVATED = "api_key.deactivated"
    API_KEY_REACTIVATED = "api_key.reactivated"
    TWO_FACTOR_ENABLED = "two_factor.enabled"
    TWO_FACTOR_DISABLED = "two_factor.disabled"
    TWO_FACTOR_RESET = "two_factor.reset"
    TWO_FACTOR_RECOVERY_CODES = "two_factor.recovery_codes_replaced"
    TWO_FACTOR_RECOVERY_CODE_USED = "two_factor.recovery_code_used"
    TWO_FACTOR_POLICY_CHANGED = "two_factor.policy_changed"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
    WEBHOOK_PAUSED = "webhook.paused"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a user, an OAuth client, the system (CLI) or someone unknown."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def of_user(cls, user: AnyUser) -> Actor:
        return cls("user", str(user.id), user.email)

    @classmethod
    def of_client(cls, client_id: str, name: str = "") -> Actor:
        return cls("client", client_id[:64], name)

    @classmethod
    def system(cls, label: str = "cli") -> Actor:
        return cls("system", "", label)

    @classmethod
    def anonymous(cls, login: str = "") -> Actor:
        """Someone not signed in; ``login`` is kept only if it looks like an email,
        so a password typed into the email field never reaches the log."""
        return cls("anonymous", "", login[:320] if looks_like_email(login) else "")


@dataclass(frozen=True, slots=True)
class Target:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def of_user(cls, user: AnyUser) -> Target:
        return cls("user", str(user.id), user.email)

    @classmethod
    def of_client(cls, client_id: str, name: str = "") -> Target:
        return cls("oauth_client", client_id[:128], name)


@dataclass(frozen=True, slots=True)
class Origin:
    ip: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, request: Request) -> Origin:
        ip = getattr(request.state, "client_ip", "") or ""
        return cls(ip[:64], request.headers.get("user-agent", "")[:300])


def looks_like_email(value: str) -> bool:
    return len(value) <= 320 and _EMAIL_SHAPE.fullmatch(value.strip()) is not None


def clean(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy with secret-looking fields redacted and sizes bounded."""
    if depth > 4:
        return "…"
    if isinstance(value, Mapping):
        return {
            str(k)[:64]: REDACTED if _is_secret_name(str(k)) else clean(v, depth + 1)
            for k, v in list(value.items())[:50]
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(v, depth + 1) for v in list(value)[:50]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:500]


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    if lowered in _SAFE_NAMES:
        return False
    return lowered == "code" or any(word in lowered for word in _SECRET_WORDS)


def values(
    *,
    tenant_id: uuid.UUID,
    action: str,
    actor: Actor,
    target: Target | None = None,
    origin: Origin | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one event, bounded to their sizes and with secrets redacted."""
    target = target or Target("")
    origin = origin or Origin()
    return {
        "tenant_id": tenant_id,
        "time": utcnow(),
        "action": str(action)[:64],
        "actor_type": actor.type[:16],
        "actor_id": actor.id[:64],
        "actor_label": actor.label[:320],
        "target_type": target.type[:32],
        "target_id": target.id[:128],
        "target_label": target.label[:320],
        "ip": origin.ip[:64],
        "user_agent": origin.user_agent[:300],
        "details": clean(dict(details or {})),
    }


async def record(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    action: str,
    actor: Actor,
    target: Target | None = None,
    origin: Origin | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to ``session``; it is written when the caller commits, so an
    action and its audit record succeed or fail together."""
    row = AuditEvent(
        **values(
            tenant_id=tenant_id,
            action=action,
            actor=actor,
            target=target,
            origin=origin,
            details=details,
        )
    )
    session.add(row)
    return row
