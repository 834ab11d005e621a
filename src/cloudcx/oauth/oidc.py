"""OpenID Connect parameters of the authorization request.

https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (§3.1.2.1):
``prompt`` (``none``, ``login``, ``consent``), ``max_age`` and ``login_hint``,
with the errors of §3.1.2.6. ``nonce`` travels with the rest of the request
(``oauth.authorization``) into the code and the ID token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from cloudcx.accounts.models import User, WebSession
from cloudcx.db import utcnow
from cloudcx.oauth.errors import InvalidRequestError, OAuthError
from cloudcx.oauth.id_tokens import SignIn

PROMPTS = ("none", "login", "consent")
# §3.1.2.1 defines it; with one account per browser session there is nothing to
# select, so it is accepted and has no effect.
IGNORED_PROMPTS = frozenset({"select_account"})
MAX_LOGIN_HINT = 320
# Parameters dropped from the request a re-authentication returns to: the
# sign-in they asked for has just happened.
_SATISFIED_BY_SIGN_IN = ("prompt", "max_age")


class LoginRequiredError(OAuthError):
    """§3.1.2.6: prompt=none, but the user must sign in."""

    error = "login_required"


class ConsentRequiredError(OAuthError):
    """§3.1.2.6: prompt=none, but the user must consent."""

    error = "consent_required"


class InteractionRequiredError(OAuthError):
    """§3.1.2.6: prompt=none, but some other page must be shown first."""

    error = "interaction_required"


@dataclass(frozen=True, slots=True)
class OpenIdRequest:
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None

    @property
    def silent(self) -> bool:
        return "none" in self.prompt


def read(params: dict[str, str]) -> OpenIdRequest:
    """§3.1.2.1, raising invalid_request for a value the server cannot honour."""
    prompt = params.get("prompt", "").split(" ")
    prompt = [p for p in prompt if p and p not in IGNORED_PROMPTS]
    unknown = [p for p in prompt if p not in PROMPTS]
    if unknown:
        raise InvalidRequestError(f"Unsupported prompt value: {unknown[0][:40]}.")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequestError("prompt=none cannot be combined with other values.")
    raw_age = params.get("max_age")
    if raw_age is not None and not (raw_age.isascii() and raw_age.isdigit() and len(raw_age) < 10):
        raise InvalidRequestError("max_age must be a number of seconds.")
    hint = params.get("login_hint")
    return OpenIdRequest(
        prompt=frozenset(prompt),
        max_age=int(raw_age) if raw_age is not None else None,
        login_hint=hint[:MAX_LOGIN_HINT] if hint else None,
    )


def needs_sign_in(
    asked: OpenIdRequest,
    user: User | None,
    web_session: WebSession | None,
    requested_at: datetime | None = None,
) -> bool:
    """Must the user (re-)authenticate before this request is answered?

    §3.1.2.1: ``prompt=login`` always; ``max_age`` when the sign-in is older than
    that many seconds (``max_age=0`` is ``prompt=login``). A user who must choose
    a new password first cannot be answered silently either.

    ``requested_at`` is when a stored request was made (a pushed one, RFC 9126):
    a sign-in since then is the one its ``prompt=login`` asked for, since its
    parameters cannot be dropped from the address the sign-in returns to.
    """
    signed_in_at = web_session.created_at if web_session is not None else None
    fresh = requested_at is not None and signed_in_at is not None and signed_in_at >= requested_at
    if user is None or web_session is None:
        needed = True
    elif "login" in asked.prompt or asked.max_age == 0:
        needed = not fresh
    elif asked.max_age is not None:
        needed = (utcnow() - web_session.created_at).total_seconds() > asked.max_age
    else:
        needed = False
    if asked.silent:
        if needed:
            raise LoginRequiredError("The user must sign in.")
        if user is not None and user.must_change_password:
            raise InteractionRequiredError("The user must choose a new password first.")
    return needed


def sign_in_url(pairs: list[tuple[str, str]], asked: OpenIdRequest, signed_in: bool) -> str:
    """The sign-in page, then back to this request without the ``prompt=login`` or
    ``max_age`` the sign-in satisfies; ``login_hint`` pre-fills the email."""
    kept = [(k, v) for k, v in pairs if k not in _SATISFIED_BY_SIGN_IN]
    others = " ".join(p for p in sorted(asked.prompt) if p != "login")
    if others:
        kept.append(("prompt", others))
    query: dict[str, str] = {"next": "/oauth/authorize?" + urlencode(kept)}
    if signed_in:
        query["reauth"] = "1"
    if asked.login_hint:
        query["login_hint"] = asked.login_hint
    return "/login?" + urlencode(query)


def sign_in_of(web_session: WebSession | None) -> SignIn | None:
    """When this browser's user signed in (``auth_time``) and its ``sid``."""
    if web_session is None:
        return None
    return SignIn(auth_time=web_session.created_at, sid=web_session.sid)
