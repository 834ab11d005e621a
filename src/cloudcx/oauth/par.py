"""Pushed authorization requests (RFC 9126): keeping them, finding them, using them once.

A request pushed to ``/oauth/par`` (``oauth.par_endpoint``) is stored as the
parameters it carried, under the SHA-256 digest of its ``request_uri``'s
random part, as codes are (DESIGN.md §4), in the database so that any process
can take it up. The authorization endpoint replaces its query by those
parameters (§4: "the authorization server MUST only use the parameters" of the
pushed request), so every check of an ordinary request applies to them.

One use is two steps, because the consent page is a GET and its answer a POST:
the GET *shows* the request to the signed-in user, who alone may open it from
then on (§4 allows "duplicate requests due to a user reloading"), and gives
them ``CONSENT_WINDOW`` to answer; the POST, by that user, *uses* it, whichever
way the user decides: after that every GET and POST of it fails. Both steps
are one conditional UPDATE, so two concurrent attempts cannot both win.
A browser that brings the request in time but must sign in first does not
use it: the request waits for it, ``SIGN_IN_WINDOW`` at most after the push.

https://datatracker.ietf.org/doc/html/rfc9126
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.console.errors import error_page
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth.errors import NO_STORE, InvalidRequestError
from cloudcx.oauth.models import OAuthClient, PushedAuthorizationRequest

# §2.2: "urn:ietf:params:oauth:request_uri:" followed by the random reference.
URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
RANDOM_BYTES = 32
# How long after its push a request waits while its user signs in (§4 allows a
# lifetime of its own to the request the browser presented in time), and how long
# a user may take over the consent page once it shows the request.
SIGN_IN_WINDOW = timedelta(minutes=10)
CONSENT_WINDOW = timedelta(minutes=10)


class UnusableRequestUri(Exception):
    """§4: the request_uri is unknown, expired, used, or another client's.

    RFC 9101 §7 names this ``invalid_request_uri``, but there is no redirect URI
    to send it to (the pushed one is unknown, and the query's other parameters
    are ignored), so the user sees an error page (RFC 6749 §4.1.2.1).
    """


@dataclass(frozen=True, slots=True)
class PushedRequest:
    digest: str
    request_uri: str
    params: dict[str, str]
    created_at: datetime
    shown_to: uuid.UUID | None

    def form_fields(self) -> dict[str, str]:
        """What the consent form carries: the reference, never the parameters (§4)."""
        return {"client_id": self.params["client_id"], "request_uri": self.request_uri}


async def push(session: AsyncSession, client: OAuthClient, params: dict[str, str], ttl: int) -> str:
    """Store a validated request; returns its ``request_uri`` (§2.2), ≥ 256 bits random."""
    reference = secrets.token(RANDOM_BYTES)
    session.add(
        PushedAuthorizationRequest(
            request_digest=secrets.digest(reference),
            tenant_id=client.tenant_id,
            client_pk=client.id,
            params={**params, "client_id": client.client_id},
            expires_at=utcnow() + timedelta(seconds=ttl),
        )
    )
    await session.flush()
    return URN_PREFIX + reference


def _digest_of(request_uri: str) -> str | None:
    reference = request_uri.removeprefix(URN_PREFIX)
    if reference == request_uri or not 32 <= len(reference) <= 128:
        return None
    return secrets.digest(reference)


async def resolve(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    params: dict[str, str],
    malformed: set[str],
    *,
    answering: bool,
) -> PushedRequest | None:
    """The pushed request ``params`` names, or None when they name none.

    Raises ``UnusableRequestUri`` when it is unknown, expired or used, when
    ``client_id`` is not the client that pushed it (§4, RFC 9101 §5), and when
    the consent form answers (``answering``) one never shown.
    """
    if "request_uri" in malformed:
        raise UnusableRequestUri
    request_uri = params.get("request_uri")
    if request_uri is None:
        return None
    digest = _digest_of(request_uri)
    if digest is None:
        raise UnusableRequestUri
    row = await session.scalar(
        select(PushedAuthorizationRequest).where(
            PushedAuthorizationRequest.request_digest == digest,
            PushedAuthorizationRequest.tenant_id == tenant_id,
        )
    )
    if (
        row is None
        or row.used_at is not None
        or row.expires_at <= utcnow()  # §4: "An expired request_uri MUST be rejected"
        or (answering and row.shown_to is None)
        or "client_id" in malformed
        or params.get("client_id") != row.params.get("client_id")
    ):
        raise UnusableRequestUri
    return PushedRequest(digest, request_uri, dict(row.params), row.created_at, row.shown_to)


def require_pushed(client: OAuthClient, pushed: PushedRequest | None) -> None:
    """§4: a client that must push its requests is refused with ``invalid_request``
    when the request has no ``request_uri`` from the PAR endpoint."""
    if client.require_par and pushed is None:
        raise InvalidRequestError(
            "This client must push its authorization requests to /oauth/par (RFC 9126)."
        )


async def hold_for_sign_in(
    session: AsyncSession, pushed: PushedRequest | None, user: User | None
) -> None:
    """The browser brought the request in time but must sign in (or change its
    password) first: the request waits for it, up to ``SIGN_IN_WINDOW`` after the push."""
    if pushed is None or (user is not None and not user.must_change_password):
        return
    model = PushedAuthorizationRequest
    await session.execute(
        update(model)
        .where(
            model.request_digest == pushed.digest,
            model.shown_to.is_(None),
            model.used_at.is_(None),
            model.expires_at > utcnow(),
        )
        .values(expires_at=pushed.created_at + SIGN_IN_WINDOW)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def show(session: AsyncSession, pushed: PushedRequest | None, user_id: uuid.UUID) -> None:
    """The consent page shows the request to this user: no one else may open it.

    Showing it again to the same user (a reload) gives no more time to answer.
    """
    if pushed is None:
        return
    if pushed.shown_to is not None:
        if pushed.shown_to != user_id:
            raise UnusableRequestUri
        return
    await _step(
        session,
        pushed,
        PushedAuthorizationRequest.shown_to.is_(None),
        shown_to=user_id,
        expires_at=utcnow() + CONSENT_WINDOW,
    )


async def use(session: AsyncSession, pushed: PushedRequest | None, user_id: uuid.UUID) -> None:
    """The user who was shown the request answered it: it is used up (§4, one-time use)."""
    if pushed is None:
        return
    await _step(session, pushed, PushedAuthorizationRequest.shown_to == user_id, used_at=utcnow())


async def _step(
    session: AsyncSession,
    pushed: PushedRequest,
    condition: ColumnElement[bool],
    **values: object,
) -> None:
    model = PushedAuthorizationRequest
    result = await session.execute(
        update(model)
        .where(
            model.request_digest == pushed.digest,
            model.used_at.is_(None),
            model.expires_at > utcnow(),
            condition,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        await session.rollback()
        raise UnusableRequestUri
    await session.commit()


def unusable_page(request: Request) -> Response:
    response = error_page(
        request,
        400,
        "This sign-in request has expired",
        "The application's sign-in request is unknown, has expired or was already used "
        "(invalid_request_uri). Go back to the application and sign in again.",
    )
    response.headers.update(NO_STORE)
    return response
