"""Device cookies: a browser that signed in before is not locked out with its address.

The address-wide limits (security/throttle.py) stop password spraying, but
they also refuse everyone behind the address: an office or a carrier NAT is
locked out by one attacker sharing it. OWASP's "device cookie" pattern
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies)
keeps the defence and lets the people in:

- a successful Control Panel sign-in sets a cookie naming the account: a
  random device id and an expiry, HMAC-signed with a key derived from the
  secret key over the tenant and the account's throttle key (so the cookie
  itself does not show the email, and is worth nothing for another account);
- while it is presented for that account, the address-wide limits do not
  apply, and the attempts are counted per (account, device) instead of
  (account, address): a device cookie used for guessing meets the same backoff
  and limit, and is locked out itself. The account-wide limit still applies.

The cookie is HttpOnly, SameSite=Lax, Secure over HTTPS, and lasts
``signin_device_cookie_days``; each sign-in replaces it with a new one.
The password grant has no browser, so it has no device cookie.
"""

from __future__ import annotations

import hmac
import time
import uuid
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response

from cloudcx.config import Settings
from cloudcx.core import secrets
from cloudcx.core.encryption import derive_key
from cloudcx.security.throttle import account_key

COOKIE = "cx_device"
_PURPOSE = "device-cookie"
_MAX_LENGTH = 200


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return derive_key(secret, _PURPOSE)


def _mac(key: bytes, tenant_id: uuid.UUID, login: str, device_id: str, expires: str) -> str:
    return secrets.sign(
        key, _PURPOSE, str(tenant_id), account_key(tenant_id, login), device_id, expires
    )


def make(settings: Settings, tenant_id: uuid.UUID, login: str, now: float | None = None) -> str:
    """A new cookie value for ``login`` at ``tenant_id``: ``<device id>.<expiry>.<mac>``."""
    device_id = secrets.token(16)
    expires = str(int((now or time.time()) + settings.signin_device_cookie_days * 86400))
    mac = _mac(_key(settings.resolved_secret_key), tenant_id, login, device_id, expires)
    return f"{device_id}.{expires}.{mac}"


def verified(
    settings: Settings,
    tenant_id: uuid.UUID,
    login: str,
    value: str | None,
    now: float | None = None,
) -> str | None:
    """The device id of ``value`` if it is a live cookie issued for ``login``, else None."""
    if not value or len(value) > _MAX_LENGTH or settings.signin_device_cookie_days == 0:
        return None
    device_id, _, rest = value.partition(".")
    expires, _, mac = rest.partition(".")
    if not (device_id and expires.isdigit() and mac):
        return None
    if int(expires) <= (now or time.time()):
        return None
    expected = _mac(_key(settings.resolved_secret_key), tenant_id, login, device_id, expires)
    return device_id if hmac.compare_digest(mac.encode(), expected.encode()) else None


def presented(request: Request, settings: Settings, tenant_id: uuid.UUID, login: str) -> str | None:
    """The device id of the request's cookie, if it names ``login``."""
    return verified(settings, tenant_id, login, request.cookies.get(COOKIE))


def remember(
    request: Request, response: Response, settings: Settings, tenant_id: uuid.UUID, login: str
) -> None:
    """Set a new device cookie for ``login`` on ``response`` (after a successful sign-in)."""
    days = settings.signin_device_cookie_days
    if not days:
        return
    response.set_cookie(
        COOKIE,
        make(settings, tenant_id, login),
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.state.scheme == "https",
        path="/",
    )
