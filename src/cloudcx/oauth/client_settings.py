"""An OAuth client's settings beyond name and description (Action > Edit).

Redirect URIs are matched exactly at the authorization endpoint, so they are
checked here, where an administrator can fix them: absolute, no fragment
(RFC 6749 §3.1.2), ``https`` — or ``http`` only on the loopback host, where
nothing crosses the network (RFC 8252 §7.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.core import secrets
from cloudcx.oauth import consents
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.clients import ClientFormError, clean_details
from cloudcx.oauth.models import OAuthClient
from cloudcx.oauth.tokens import MAX_ACCESS_TOKEN_TTL

GRANT_LABELS = {
    "password": "Password",
    "authorization_code": "Authorization code",
    "refresh_token": "Refresh token",
    "client_credentials": "Client credentials",
}
# OpenID Connect Registration §2 ``id_token_signed_response_alg``: RS256 by default.
ID_TOKEN_ALGS = ("RS256", "ES256")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
ACCESS_TTL_RANGE = (60, MAX_ACCESS_TOKEN_TTL)
REFRESH_TTL_RANGE = (3600, 365 * 86400)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClientSettings:
    client_name: str
    description: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    access_token_ttl: int | None
    refresh_token_ttl: int | None
    is_enabled: bool
    skip_consent: bool
    id_token_signed_response_alg: str
    require_par: bool
    require_dpop: bool = False


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, or None when it can."""
    if len(uri) > MAX_URI_LENGTH or any(c.isspace() or ord(c) < 32 for c in uri):
        return f"{uri[:80]!r} is too long or contains spaces or control characters."
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return f"{uri[:80]} is not a valid URL."
    if parts.fragment or "#" in uri:
        return f"{uri[:80]} must not contain a fragment (#)."
    if not host or parts.username or parts.password:
        return f"{uri[:80]} must be an absolute URL with a host and no user name."
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return None
    return f"{uri[:80]} must use https (http is allowed only for localhost and 127.0.0.1)."


def clean_redirect_uris(text: str, field: str = "redirect_uris") -> list[str]:
    """One URI a line; the same rules for redirect and post-logout redirect URIs."""
    uris = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if len(uris) > MAX_REDIRECT_URIS:
        raise ClientFormError({field: f"At most {MAX_REDIRECT_URIS} redirect URIs."})
    problems = [p for p in map(redirect_uri_problem, uris) if p]
    if problems:
        raise ClientFormError({field: " ".join(problems)})
    return uris


def clean_ttl(value: str, bounds: tuple[int, int], field: str) -> int | None:
    """Blank means the platform default; otherwise seconds within ``bounds``."""
    value = value.strip()
    if not value:
        return None
    low, high = bounds
    if (
        not (value.isascii() and value.isdigit() and len(value) <= 9)
        or not low <= int(value) <= high
    ):
        raise ClientFormError({field: f"Enter a number of seconds from {low} to {high}."})
    return int(value)


def _collect(errors: dict[str, str], check: Callable[[], T]) -> T | None:
    """Run one field's check, keeping its message so every bad field is reported."""
    try:
        return check()
    except ClientFormError as exc:
        errors.update(exc.errors)
        return None


def clean_settings(
    fields: dict[str, str], grant_types: list[str], scopes: list[str]
) -> ClientSettings:
    """Validate the whole form; ClientFormError names each bad field."""
    errors: dict[str, str] = {}
    get = fields.get
    details = _collect(
        errors, lambda: clean_details(get("client_name", ""), get("description", ""))
    )
    uris = _collect(errors, lambda: clean_redirect_uris(get("redirect_uris", "")))
    logout_uris = _collect(
        errors,
        lambda: clean_redirect_uris(
            get("post_logout_redirect_uris", ""), "post_logout_redirect_uris"
        ),
    )
    access = _collect(
        errors, lambda: clean_ttl(get("access_token_ttl", ""), ACCESS_TTL_RANGE, "access_token_ttl")
    )
    refresh = _collect(
        errors,
        lambda: clean_ttl(get("refresh_token_ttl", ""), REFRESH_TTL_RANGE, "refresh_token_ttl"),
    )
    alg = get("id_token_signed_response_alg") or ID_TOKEN_ALGS[0]
    if alg not in ID_TOKEN_ALGS:
        errors["id_token_signed_response_alg"] = "Choose RS256 or ES256."
    chosen = [g for g in GRANT_LABELS if g in grant_types]
    if "authorization_code" in chosen and uris == []:
        errors["redirect_uris"] = "The Authorization code grant needs at least one redirect URI."
    if errors or details is None or uris is None or logout_uris is None:
        raise ClientFormError(errors)
    return ClientSettings(
        client_name=details[0],
        description=details[1],
        redirect_uris=uris,
        post_logout_redirect_uris=logout_uris,
        grant_types=chosen,
        scopes=[s for s in scope_catalog.SCOPES if s in scopes],
        access_token_ttl=access,
        refresh_token_ttl=refresh,
        is_enabled=get("is_enabled") == "on",
        skip_consent=get("skip_consent") == "on",
        require_par=get("require_par") == "on",
        require_dpop=get("require_dpop") == "on",
        id_token_signed_response_alg=alg,
    )


async def apply(session: AsyncSession, client: OAuthClient, settings: ClientSettings) -> bool:
    """Save the settings; disabling a client ends all of its tokens at once.

    Returns whether this change disabled the client.
    """
    disabling = client.is_enabled and not settings.is_enabled
    for name in ClientSettings.__dataclass_fields__:
        setattr(client, name, getattr(settings, name))
    if disabling:
        await consents.revoke_client_tokens(session, client)
    return disabling


def new_secret(client: OAuthClient) -> str:
    """A fresh secret (256 bits) that replaces any previous one at once.

    Only its SHA-256 digest is kept; the value is shown to the administrator once.
    """
    value = secrets.token(32)
    client.secret_digest = secrets.digest(value)
    return value
