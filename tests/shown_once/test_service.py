"""shown_once.service: kept encrypted for one session, taken once, then never again."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import sessions
from cloudcx.accounts.models import User, WebSession
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.shown_once import service
from cloudcx.shown_once.models import ShownOnce
from tests.conftest import TEST_SECRET

FERNET = service.cipher(TEST_SECRET)


async def web_session(db: AsyncSession, user: User) -> WebSession:
    cookie = await sessions.start(db, user, 3600, "203.0.113.7", "test")
    found = await db.get(WebSession, secrets.digest(cookie))
    assert found is not None
    return found


async def kept(db: AsyncSession, user: User, value: str = "s3cret-value") -> tuple[WebSession, str]:
    ws = await web_session(db, user)
    handle = await service.keep(db, FERNET, ws, kind="client_secret", subject="c1", value=value)
    await db.commit()
    return ws, handle


async def test_taken_once_then_never(db: AsyncSession, admin: User) -> None:
    ws, handle = await kept(db, admin)
    take = {"handle": handle, "kind": "client_secret", "subject": "c1"}
    assert await service.take(db, FERNET, ws, **take) == "s3cret-value"
    assert await service.take(db, FERNET, ws, **take) is None
    row = await db.scalar(select(ShownOnce).execution_options(populate_existing=True))
    assert row is not None and row.ciphertext is None and row.shown_at is not None


async def test_encrypted_with_the_platform_secret(db: AsyncSession, admin: User) -> None:
    ws, handle = await kept(db, admin)
    row = await db.scalar(select(ShownOnce))
    assert row is not None and row.ciphertext is not None
    assert "s3cret-value" not in row.ciphertext
    other_key = service.cipher("another-secret-key-of-at-least-32-characters!!")
    take = {"handle": handle, "kind": "client_secret", "subject": "c1"}
    assert await service.take(db, other_key, ws, **take) is None


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param({"kind": "api_key"}, id="other-kind"),
        pytest.param({"subject": "c2"}, id="other-record"),
        pytest.param({"handle": str(uuid.uuid4())}, id="unknown-handle"),
        pytest.param({"handle": "not-a-uuid"}, id="bad-handle"),
    ],
)
async def test_only_what_was_kept_for_that_page(
    db: AsyncSession, admin: User, wrong: dict[str, str]
) -> None:
    ws, handle = await kept(db, admin)
    take = {"handle": handle, "kind": "client_secret", "subject": "c1", **wrong}
    assert await service.take(db, FERNET, ws, **take) is None
    # The right page still gets it: a wrong guess does not spend the value.
    right = {"handle": handle, "kind": "client_secret", "subject": "c1"}
    assert await service.take(db, FERNET, ws, **right) == "s3cret-value"


async def test_another_session_and_expiry(db: AsyncSession, admin: User) -> None:
    _, handle = await kept(db, admin)
    elsewhere = await web_session(db, admin)
    take = {"handle": handle, "kind": "client_secret", "subject": "c1"}
    assert await service.take(db, FERNET, elsewhere, **take) is None
    ws, late = await kept(db, admin, "late")
    await db.execute(
        update(ShownOnce)
        .where(ShownOnce.id == uuid.UUID(late))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    late_take = {"handle": late, "kind": "client_secret", "subject": "c1"}
    assert await service.take(db, FERNET, ws, **late_take) is None
