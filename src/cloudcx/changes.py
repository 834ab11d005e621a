"""The change feed: rows a process commits reach the caches that mirror them.

Hot paths read tenants, clients, users and revocations from in-process caches
(DESIGN.md §8). A cache must never outlive a change that matters for security
(a client disabled or its secret rotated, a user deactivated or their role
changed, a token revoked), so every commit is watched: once a transaction that
wrote such a row has committed, the handlers registered for its model run
before the request that made the change answers. Other processes see the
change when their cache entries expire (``RecordCache.ttl``, at most the
revocation delay) or when their revocation view next refreshes.

It hooks the ORM session rather than every place that writes, so a new code
path that changes a client cannot forget to invalidate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

log = logging.getLogger("cloudcx.changes")

T = TypeVar("T")
_PENDING = "cloudcx_changed_rows"


class ChangeFeed:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}

    def on(self, model: type[T], handler: Callable[[T], None]) -> None:
        """Call ``handler(row)`` after each commit that inserted, updated or deleted a row."""
        self._handlers.setdefault(model, []).append(handler)

    def committed(self, rows: Iterable[object]) -> None:
        for row in rows:
            for handler in self._handlers.get(type(row), ()):
                try:
                    handler(row)
                except Exception:  # a cache hiccup must not fail a committed request
                    log.exception("change handler failed for %s", type(row).__name__)

    def install(self, session_class: type[Session]) -> None:
        """Watch every session of ``session_class`` (one class per platform)."""
        watched = self._handlers

        @event.listens_for(session_class, "after_flush")
        def collect(session: Session, _flush: UOWTransaction) -> None:
            rows = [
                row
                for row in chain(session.new, session.dirty, session.deleted)
                if type(row) in watched
            ]
            if rows:
                session.info.setdefault(_PENDING, []).extend(rows)

        @event.listens_for(session_class, "after_commit")
        def publish(session: Session) -> None:
            rows = session.info.pop(_PENDING, None)
            if rows:
                self.committed(rows)

        @event.listens_for(session_class, "after_rollback")
        def forget(session: Session) -> None:
            session.info.pop(_PENDING, None)


def changed_on_commit(session: AsyncSession | Session, row: object) -> None:
    """Dispatch ``row`` when ``session`` commits, as if the ORM had written it: for
    rows written by a Core statement (an upsert), which the ORM does not see."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_PENDING, []).append(row)


def session_class() -> type[Session]:
    """A Session subclass of its own, so one platform's hooks never see another's
    sessions (the test suite and the CLI build several platforms in one process)."""
    return type("PlatformSession", (Session,), {})
