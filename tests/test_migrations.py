"""Alembic: an empty database upgrades to head, and head matches the models."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from cloudcx import migrate
from cloudcx.db import create_engine
from cloudcx.ddl import include_object
from cloudcx.models import metadata
from tests.databases import throwaway_database


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_engine(url)

        def compare(conn: Connection) -> list[object]:
            opts = {"compare_type": True, "include_object": include_object(conn.dialect.name)}
            ctx = MigrationContext.configure(conn, opts=opts)
            return list(compare_metadata(ctx, metadata))

        try:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _ticket_indexes(url: str, table: str = "tickets") -> dict[str, list[str | None]]:
    async def run() -> dict[str, list[str | None]]:
        engine = create_engine(url)

        def read(conn: Connection) -> dict[str, list[str | None]]:
            return {i["name"]: i["column_names"] for i in inspect(conn).get_indexes(table)}

        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


ADDED_BY_0006 = {
    "ix_tickets_tenant_status_created",
    "ix_tickets_tenant_assignee_created",
    "ix_tickets_tenant_requester_created",
    "ix_tickets_tenant_created_subject",  # SQLite
    "ix_tickets_subject_trgm",  # PostgreSQL
}


def _list_indexes_go_down_and_up_again(url: str) -> None:
    """0006 replaces the time indexes by (tenant_id, time, id) ones and adds the filters'."""
    migrate.upgrade(url)
    at_head = _ticket_indexes(url)
    assert at_head["ix_tickets_tenant_updated"] == ["tenant_id", "updated_at", "id"]
    assert _ticket_indexes(url, "ticket_tags")["ix_ticket_tags_tag"] == ["tag", "ticket_id"]
    command.downgrade(migrate.alembic_config(url), "0005")
    before = _ticket_indexes(url)
    assert before["ix_tickets_tenant_created"] == ["tenant_id", "created_at"]
    assert before["ix_tickets_tenant_updated"] == ["tenant_id", "updated_at"]
    assert not ADDED_BY_0006 & set(before)
    assert _ticket_indexes(url, "ticket_tags")["ix_ticket_tags_tag"] == ["tag"]
    migrate.upgrade(url)
    assert _ticket_indexes(url) == at_head
    assert _diff(url) == []


def test_sqlite_ticket_list_indexes_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    _list_indexes_go_down_and_up_again(url)
    at_head = _ticket_indexes(url)
    assert at_head["ix_tickets_tenant_created_subject"] == [
        "tenant_id",
        "created_at",
        "id",
        "subject",
    ]
    assert not {"ix_tickets_tenant_created", "ix_tickets_subject_trgm"} & set(at_head)


def test_sqlite_empty_to_head_matches_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'm.db'}"
    migrate.upgrade(url)
    assert asyncio.run(migrate.pending(url)) == []
    assert _diff(url) == []


def test_pending_reports_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    assert asyncio.run(migrate.pending(url)) != []


needs_postgresql = pytest.mark.skipif(
    not os.environ.get("CLOUDCX_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="set CLOUDCX_TEST_DATABASE_URL to a PostgreSQL database to run",
)


@pytest.fixture
def throwaway_postgresql() -> Iterator[str]:
    """A new, empty database, so the suite's own tables do not interfere."""
    with throwaway_database(os.environ["CLOUDCX_TEST_DATABASE_URL"], "cloudcx_mig") as url:
        yield url


@needs_postgresql
def test_postgresql_empty_to_head_matches_models(throwaway_postgresql: str) -> None:
    url = throwaway_postgresql
    migrate.upgrade(url)
    assert asyncio.run(migrate.pending(url)) == []
    assert _diff(url) == []


@needs_postgresql
def test_postgresql_ticket_list_indexes_downgrade_and_upgrade_again(
    throwaway_postgresql: str,
) -> None:
    _list_indexes_go_down_and_up_again(throwaway_postgresql)
    at_head = _ticket_indexes(throwaway_postgresql)
    assert at_head["ix_tickets_tenant_created"] == ["tenant_id", "created_at", "id"]
    assert "ix_tickets_subject_trgm" not in at_head  # 0014: q reads the full-text index
    assert "ix_tickets_tenant_created_subject" not in at_head


def _columns(url: str, table: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(url)

        def read(conn: Connection) -> set[str]:
            return {c["name"] for c in inspect(conn).get_columns(table)}

        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


TWO_FACTOR_USER_COLUMNS = {"totp_secret", "totp_pending_secret", "totp_last_step"}


def _two_factor_goes_down_and_up_again(url: str) -> None:
    """0010 undoes itself without touching the rest."""
    migrate.upgrade(url)
    assert _columns(url, "users") >= TWO_FACTOR_USER_COLUMNS
    assert "two_factor_required" in _columns(url, "tenants")
    command.downgrade(migrate.alembic_config(url), "0009")
    assert not TWO_FACTOR_USER_COLUMNS & _columns(url, "users")
    assert "two_factor_required" not in _columns(url, "tenants")
    assert "two_factor_recovery_codes" not in _table_names(url)
    migrate.upgrade(url)
    assert _diff(url) == []


def _table_names(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_sqlite_two_factor_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    _two_factor_goes_down_and_up_again(f"sqlite+aiosqlite:///{tmp_path / '2fa.db'}")


@needs_postgresql
def test_postgresql_two_factor_downgrade_and_upgrade_again(throwaway_postgresql: str) -> None:
    _two_factor_goes_down_and_up_again(throwaway_postgresql)


USERS_BEFORE_0011 = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("email_normalized", sa.String()),
    sa.column("name", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("role", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
TENANTS = sa.table(
    "tenants",
    sa.column("id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
FULLWIDTH_ADMIN = "\uff41\uff44\uff4d\uff49\uff4e@acme.example.com"


def _run(url: str, statements: list[Any]) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                return [await conn.execute(s) for s in statements]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _user_keys(url: str) -> dict[str, str]:
    async def run() -> dict[str, str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT email, email_key FROM users"))
                return {email: key for email, key in rows}
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _email_keys_are_backfilled_and_go_down_and_up_again(url: str) -> None:
    """0011 keys every user; of look-alike duplicates the oldest keeps the key."""
    migrate.upgrade(url, "0010")
    acme, globex = uuid.uuid4(), uuid.uuid4()
    old, young = uuid.uuid4(), uuid.uuid4()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    users = [
        (old, acme, "Admin@acme.example.com", t0),
        (young, acme, FULLWIDTH_ADMIN, t0 + timedelta(days=1)),
        (uuid.uuid4(), acme, "Stra\u00dfe@acme.example.com", t0),
        (uuid.uuid4(), globex, "admin@acme.example.com", t0 + timedelta(days=2)),
    ]
    _run(
        url,
        [
            TENANTS.insert().values(id=t, name=n, is_active=True, created_at=t0)
            for t, n in ((acme, "Acme"), (globex, "Globex"))
        ]
        + [
            USERS_BEFORE_0011.insert().values(
                id=i,
                tenant_id=t,
                email=e,
                email_normalized=f"{e.lower()}",
                name="",
                password_hash="x",
                role="agent",
                is_active=True,
                created_at=c,
                updated_at=c,
            )
            for i, t, e, c in users
        ],
    )
    migrate.upgrade(url)
    keys = _user_keys(url)
    assert keys["Admin@acme.example.com"] == "admin@acme.example.com"
    assert keys[FULLWIDTH_ADMIN] == f"admin@acme.example.com#DUPLICATE-{young}"
    assert keys["Stra\u00dfe@acme.example.com"] == "strasse@acme.example.com"
    assert keys["admin@acme.example.com"] == "admin@acme.example.com"  # another tenant
    assert _diff(url) == []
    command.downgrade(migrate.alembic_config(url), "0010")
    assert "email_key" not in _columns(url, "users")
    migrate.upgrade(url)
    assert _user_keys(url) == keys


def test_sqlite_email_keys_are_backfilled(tmp_path: Path) -> None:
    _email_keys_are_backfilled_and_go_down_and_up_again(
        f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    )


@needs_postgresql
def test_postgresql_email_keys_are_backfilled(throwaway_postgresql: str) -> None:
    _email_keys_are_backfilled_and_go_down_and_up_again(throwaway_postgresql)


def _cols(name: str, **types: Any) -> Any:
    return sa.table(name, *(sa.column(c, t) for c, t in types.items()))


S, U, T, D = sa.String(), sa.Uuid(), sa.Text(), sa.DateTime(timezone=True)
CONTACTS = _cols(
    "contacts", id=U, tenant_id=U, first_name=S, last_name=S, email=S, email_normalized=S,
    company=S, job_title=S, tags=sa.JSON(), notes=T, created_at=D, updated_at=D,
)  # fmt: skip
TICKETS_BEFORE = _cols(
    "tickets", id=U, tenant_id=U, number=sa.Integer(), subject=S, description=T, status=S,
    priority=S, channel=S, requester_id=U, created_at=D, updated_at=D,
)  # fmt: skip
MESSAGES = _cols(
    "messages", id=U, tenant_id=U, ticket_id=U, kind=S, body=T, author_contact_id=U, created_at=D
)


SEARCHED = {
    "sqlite": "SELECT t.subject FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id "
    "WHERE s.id IN (SELECT rowid FROM ticket_search_fts WHERE ticket_search_fts MATCH :q) "
    "ORDER BY t.number",
    "postgresql": "SELECT t.subject FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id "
    "WHERE s.document @@ CAST(:q AS tsquery) ORDER BY t.number",
}


def _searched(url: str, words: str) -> list[str]:
    """Subjects of the tickets whose search row holds ``words``, as the search asks."""
    from cloudcx.tickets.words import match_value

    async def run() -> list[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                dialect = conn.dialect.name
                rows = await conn.execute(
                    text(SEARCHED[dialect]), {"q": match_value(dialect, words)}
                )
                return [r[0] for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _existing_tickets_are_indexed_and_go_down_and_up_again(url: str) -> None:
    """0014 indexes the tickets already there: subject, description, messages,
    requester; downgrading removes the search and the events, upgrading rebuilds."""
    migrate.upgrade(url, "0013")
    acme, ada, t1, t2 = (uuid.uuid4() for _ in range(4))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    ticket = {"tenant_id": acme, "status": "open", "priority": "normal", "channel": "email",
              "created_at": t0, "updated_at": t0}  # fmt: skip
    _run(
        url,
        [
            TENANTS.insert().values(id=acme, name="Acme", is_active=True, created_at=t0),
            CONTACTS.insert().values(
                id=ada,
                tenant_id=acme,
                first_name="Ada",
                last_name="Lovelace",
                email="ada@example.org",
                email_normalized="ada@example.org",
                company="",
                job_title="",
                tags=[],
                notes="",
                created_at=t0,
                updated_at=t0,
            ),
            TICKETS_BEFORE.insert().values(
                id=t1,
                number=1,
                subject="Café printer",
                description="Smoke",
                requester_id=ada,
                **ticket,
            ),
            TICKETS_BEFORE.insert().values(
                id=t2, number=2, subject="Other", description="", requester_id=None, **ticket
            ),
            MESSAGES.insert().values(
                id=uuid.uuid4(),
                tenant_id=acme,
                ticket_id=t2,
                kind="reply",
                body="The toner is empty",
                author_contact_id=None,
                created_at=t0,
            ),
        ],
    )
    migrate.upgrade(url)
    cases = {"cafe print": ["Café printer"], "lovelace smoke": ["Café printer"],
             "ada@example.org": ["Café printer"], "toner": ["Other"], "2": ["Other"],
             "zebra": []}  # fmt: skip
    for words, found in cases.items():
        assert _searched(url, words) == found, words
    assert _diff(url) == []
    command.downgrade(migrate.alembic_config(url), "0013")
    tables = _table_names(url)
    assert not {"ticket_search", "ticket_search_fts", "ticket_events"} & tables
    migrate.upgrade(url)
    assert _searched(url, "toner") == ["Other"]


def test_sqlite_existing_tickets_are_indexed(tmp_path: Path) -> None:
    _existing_tickets_are_indexed_and_go_down_and_up_again(
        f"sqlite+aiosqlite:///{tmp_path / 'search.db'}"
    )


@needs_postgresql
def test_postgresql_existing_tickets_are_indexed(throwaway_postgresql: str) -> None:
    _existing_tickets_are_indexed_and_go_down_and_up_again(throwaway_postgresql)
