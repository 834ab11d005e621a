"""Shown-once values on Control Panel pages: kept by a POST, shown by the GET after it."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.console.web import Console
from cloudcx.deps import platform_of
from cloudcx.shown_once import service


@dataclass(frozen=True, slots=True)
class Reveal:
    """``value`` is None when it was already shown (or expired, or is not this session's)."""

    value: str | None


def _cipher(cx: Console) -> Fernet:
    return service.cipher(platform_of(cx.request).settings.resolved_secret_key)


async def remember(
    cx: Console, session: AsyncSession, *, kind: str, subject: str, value: str
) -> str:
    """Keep ``value`` for this session; the handle for the redirect's ``shown=``."""
    assert cx.web_session is not None, "a page that makes secrets needs a signed-in user"
    return await service.keep(
        session, _cipher(cx), cx.web_session, kind=kind, subject=subject, value=value
    )


async def reveal(
    cx: Console, session: AsyncSession, handle: str | None, *, kind: str, subject: str
) -> Reveal | None:
    """None without a handle; otherwise the value the first time, then "already shown"."""
    if not handle or cx.web_session is None:
        return None
    value = await service.take(
        session, _cipher(cx), cx.web_session, handle=handle[:64], kind=kind, subject=subject
    )
    return Reveal(value)
