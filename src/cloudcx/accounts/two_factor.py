"""Two-factor sign-in with an authenticator app: TOTP (RFC 6238) through ``pyotp``.

The shared secret must be read back to check codes, so it cannot be hashed: it
is encrypted at rest with Fernet under a key derived from ``CLOUDCX_SECRET_KEY``
for this purpose only (``core.encryption``). It is never logged, and shown only
while it is being set up.

A new secret is *pending* until the person proves their app has it by typing a
right code; only then does it become the active one. Every accepted code
records its time step, and a code of that step or an earlier one is refused:
RFC 6238 §5.2 says the verifier "MUST NOT accept the second attempt of the same
OTP after the successful validation has been issued for the first OTP".
https://datatracker.ietf.org/doc/html/rfc6238#section-5.2
"""

from __future__ import annotations

import base64
import hmac
import io
import time

import pyotp
import segno
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from cloudcx.accounts import recovery_codes
from cloudcx.accounts.models import User
from cloudcx.core.encryption import fernet_for

DIGITS = 6
# One step either side of now (RFC 6238 §5.2 recommends at most one) absorbs clock skew
# and the seconds it takes to type the code.
VALID_WINDOW = 1


def _encrypt(secret_key: str, secret: str) -> str:
    return fernet_for(secret_key, "two-factor-totp").encrypt(secret.encode()).decode()


def _decrypt(secret_key: str, token: str) -> str:
    return fernet_for(secret_key, "two-factor-totp").decrypt(token.encode()).decode()


def looks_like_code(value: str) -> bool:
    code = normalize_code(value)
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def normalize_code(value: str) -> str:
    return "".join(value.split())


def begin(secret_key: str, user: User) -> str:
    """Give the user a new pending secret (any earlier pending one is dropped)."""
    secret = pyotp.random_base32()  # 160 bits, the size RFC 4226 §4 recommends
    user.totp_pending_secret = _encrypt(secret_key, secret)
    return secret


def pending_secret(secret_key: str, user: User) -> str | None:
    token = user.totp_pending_secret
    return _decrypt(secret_key, token) if token else None


def provisioning_uri(secret: str, user: User, issuer: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG ``data:`` URI, drawn here: the secret never leaves the server."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is, within the window, or None.

    Every candidate is compared (in constant time), so the time taken does not
    tell which step matched.
    """
    if not looks_like_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS)
    now = time.time() if now is None else now
    current = totp.timecode(now)
    found = None
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        expected = totp.at(now, counter_offset=offset)
        if hmac.compare_digest(expected.encode(), normalize_code(code).encode()):
            found = current + offset
    return found


async def _claim_step(session: AsyncSession, user: User, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already is: one conditional
    UPDATE, so two processes handed the same code accept it only once."""
    result = await session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


async def check_code(
    session: AsyncSession, secret_key: str, user: User, code: str, now: float | None = None
) -> bool:
    """Is ``code`` a current code of the user's active secret, not used before?"""
    if user.totp_secret is None:
        return False
    step = matching_step(_decrypt(secret_key, user.totp_secret), code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    return await _claim_step(session, user, step)


async def check_code_or_recovery(
    session: AsyncSession, secret_key: str, user: User, code: str
) -> tuple[bool, bool]:
    """(accepted, was a recovery code): a recovery code is spent when it works."""
    if looks_like_code(code):
        return await check_code(session, secret_key, user, code), False
    return await recovery_codes.use(session, secret_key, user, code), True


async def confirm(
    session: AsyncSession, secret_key: str, user: User, code: str, now: float | None = None
) -> list[str] | None:
    """Make the pending secret active if ``code`` is one of its current codes.

    Returns the new recovery codes (to show once), or None for a wrong code.
    """
    secret = pending_secret(secret_key, user)
    step = matching_step(secret, code, now) if secret else None
    if step is None:
        return None
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_last_step = step  # the confirming code cannot sign in again
    await session.flush()
    return await recovery_codes.replace(session, secret_key, user)


async def disable(session: AsyncSession, user: User) -> None:
    """Turn two-factor off (the user's choice, or an administrator's reset)."""
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_step = None
    await recovery_codes.forget(session, user)
    await session.flush()
