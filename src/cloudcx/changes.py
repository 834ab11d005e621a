"""The change feed: rows a process commits reach the caches that mirror them.

Hot paths read tenants, clients, users, signing keys and revocations from
in-process caches (DESIGN.md §8). A cache must never outlive a change that
matters for security (a client disabled or its secret rotated, a user
deactivated or their role changed, a token or a user's consent revoked, a key
rotated), so every commit is watched: once a transaction that wrote such a row
has committed, the handlers registered for its model run before the request
that made the change answers.

Each committed row is also described as a ``Change`` — ids only (kind, tenant,
key), never a secret or a digest — and handed to ``outbox``. With Redis
configured, ``cloudcx.feed_redis`` publishes it and every other process
applies it within milliseconds (``received``): it drops the cache entry or
applies the revocation. Without Redis, or while Redis is unreachable, other
processes see the change when their cache entries expire (``RecordCache.ttl``,
at most the revocation delay) or when their revocation view next polls the
database: the poll and the short TTL are kept even with Redis, as the safety
net for a message that was never delivered.

It hooks the ORM session rather than every place that writes, so a new code
path that changes a client cannot forget to invalidate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

log = logging.getLogger("cloudcx.changes")

T = TypeVar("T")
_PENDING = "cloudcx_changed_rows"


@dataclass(frozen=True, slots=True)
class Change:
    """What another process needs to know of a committed row: which cache entry
    it invalidates. ``tenant_id`` is empty for platform-wide rows (keys)."""

    kind: str
    tenant_id: str
    key: tuple[str, ...] = ()


class ChangeFeed:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self._describers: dict[type, Callable[[Any], Change | None]] = {}
        self._remote: dict[str, list[Callable[[Change], None]]] = {}
        # Where shared changes go once committed (the Redis publisher's queue);
        # must not block: it runs inside the commit of a request.
        self.outbox: Callable[[Change], None] | None = None

    def on(self, model: type[T], handler: Callable[[T], None]) -> None:
        """Call ``handler(row)`` after each commit that inserted, updated or deleted a row."""
        self._handlers.setdefault(model, []).append(handler)

    def share(self, model: type[T], describe: Callable[[T], Change | None]) -> None:
        """Tell other processes of each committed row of ``model`` as ``describe(row)``."""
        self._describers[model] = describe

    def on_remote(self, kind: str, handler: Callable[[Change], None]) -> None:
        """Call ``handler(change)`` for each change of ``kind`` another process made."""
        self._remote.setdefault(kind, []).append(handler)

    @property
    def watched(self) -> set[type]:
        return set(self._handlers) | set(self._describers)

    def committed(self, rows: Iterable[object]) -> None:
        for row in rows:
            for handler in self._handlers.get(type(row), ()):
                try:
                    handler(row)
                except Exception:  # a cache hiccup must not fail a committed request
                    log.exception("change handler failed for %s", type(row).__name__)
            self._forward(row)

    def _forward(self, row: object) -> None:
        describe = self._describers.get(type(row))
        if describe is None or self.outbox is None:
            return
        try:
            change = describe(row)
            if change is not None:
                self.outbox(change)
        except Exception:
            log.exception("could not share a change of %s", type(row).__name__)

    def received(self, change: Change) -> None:
        """Apply a change made by another process. ValueError when it cannot be:
        an unknown kind (a newer version's message) or a key that is not one."""
        handlers = self._remote.get(change.kind)
        if not handlers:
            raise ValueError(f"unknown kind {change.kind[:40]!r}")
        for handler in handlers:
            try:
                handler(change)
            except (ValueError, IndexError, TypeError) as exc:
                raise ValueError(f"bad {change.kind} change: {exc}") from exc
            except Exception:
                log.exception("remote change handler failed for %s", change.kind)

    def install(self, session_class: type[Session]) -> None:
        """Watch every session of ``session_class`` (one class per platform)."""
        watched = self.watched

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
