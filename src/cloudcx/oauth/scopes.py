"""The scope catalogue: what each scope allows, in plain words, and who may hold it.

A token's rights are the requested scope ∩ the client's allowed scopes ∩ the
user's role (DESIGN.md §4). Descriptions are what the consent page shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cloudcx.accounts.models import Role
from cloudcx.oauth.errors import InvalidScopeError


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    description: str
    roles: frozenset[Role]
    # Scopes that make sense without a user (client credentials grant).
    client_only_ok: bool = True


_ALL = frozenset(Role)
_ADMIN = frozenset({Role.ADMIN})

SCOPES: dict[str, Scope] = {
    s.name: s
    for s in (
        Scope("tickets:read", "View tickets and their conversations", _ALL),
        Scope("tickets:write", "Create, update and reply to tickets", _ALL),
        Scope("contacts:read", "View contacts", _ALL),
        Scope("contacts:write", "Create and update contacts", _ALL),
        Scope("users:read", "View the list of agents", _ALL),
        Scope("users:write", "Add agents, change their roles and deactivate them", _ADMIN),
        Scope("audit:read", "Read the security audit log", _ADMIN),
        Scope("webhooks:read", "See the webhooks and what was sent to them", _ADMIN),
        Scope("webhooks:write", "Register, change and delete webhooks", _ADMIN),
        Scope("profile", "See your name, email address and role", _ALL, client_only_ok=False),
        # OpenID Connect Core §5.4; ``profile`` above also names its claims.
        Scope("openid", "Sign you in with your CloudCX account", _ALL, client_only_ok=False),
        Scope("email", "See your email address", _ALL, client_only_ok=False),
    )
}
# OpenID Connect Core §3.1.2.1: a request is an OpenID one only when it asks for
# ``openid``, so the default scope (no ``scope`` sent) never includes it.
OPENID = "openid"

DEFAULT_CLIENT_SCOPES: tuple[str, ...] = tuple(SCOPES)
# Least privilege: what a new client or API key starts with ticked in the Control
# Panel — the profile and reading what every role may read. Writing, managing
# agents, the audit log and signing people in (openid, email) are ticked on purpose.
STARTING_SCOPES: tuple[str, ...] = tuple(
    s.name
    for s in SCOPES.values()
    if s.name == "profile" or (s.name.endswith(":read") and s.roles == _ALL)
)


def parse(scope: str | None) -> list[str]:
    """RFC 6749 §3.3: space-delimited, case-sensitive, order irrelevant."""
    if not scope:
        return []
    return list(dict.fromkeys(scope.split()))


def unknown(names: Iterable[str]) -> list[str]:
    return [n for n in names if n not in SCOPES]


def for_role(names: Iterable[str], role: Role) -> list[str]:
    return [n for n in names if n in SCOPES and role in SCOPES[n].roles]


def require_known(names: Iterable[str]) -> None:
    """RFC 6749 §5.2 ``invalid_scope`` for a name missing from the catalogue."""
    missing = unknown(names)
    if missing:
        raise InvalidScopeError(f"Unknown scope: {' '.join(missing)}.")


def requested(allowed: Sequence[str], scope: str | None) -> list[str]:
    """The scopes asked for, each known and within ``allowed``.

    RFC 6749 §3.3: with no ``scope`` the server uses a pre-defined default,
    here ``allowed`` (the client's allowed scopes).
    """
    asked = parse(scope)
    if not asked:
        return [s for s in allowed if s != OPENID]
    require_known(asked)
    refused = [s for s in asked if s not in allowed]
    if refused:
        raise InvalidScopeError(f"This client may not request: {' '.join(refused)}.")
    return asked


def join(names: Iterable[str]) -> str:
    return " ".join(sorted(set(names)))
