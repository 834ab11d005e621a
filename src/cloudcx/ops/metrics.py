"""Prometheus metrics: what the platform counts, and the ``/metrics`` page.

Served in the Prometheus text format by ``prometheus_client``. When several
worker processes serve (``cloudcx serve --workers N``), each writes its
numbers into files under ``PROMETHEUS_MULTIPROC_DIR`` (``server.py`` sets it
up beneath the var directory and empties it at start) and ``/metrics``, in
whichever worker answers, adds up every worker's files.

Counters that a hot path would pay for on every request (the record caches'
hits and misses) are kept as plain integers where they happen and copied here
by ``Sampler``, once a second and at every scrape; the database pool gauge
is read the same way.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from cloudcx.core.cache import RecordCache

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The ``_created`` series would double the number of series; Prometheus needs none.
disable_created_metrics()  # type: ignore[no-untyped-call]
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Labels whose value a client chooses are mapped onto a fixed set, so that
# nobody can grow the number of series by sending made-up values.
GRANT_TYPES = frozenset({"password", "authorization_code", "refresh_token", "client_credentials"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "cloudcx_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and status.",
    ("method", "route", "status"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TOKENS_ISSUED = Counter(
    "cloudcx_oauth_tokens_issued", "Access tokens issued by the token endpoint.", ("grant_type",)
)
TOKENS_REFUSED = Counter(
    "cloudcx_oauth_tokens_refused",
    "Token requests refused, by grant type and RFC 6749 §5.2 error code.",
    ("grant_type", "reason"),
)
REVOCATIONS = Counter(
    "cloudcx_oauth_revocations",
    "Revocations recorded, by what they cover (token, grant, client, user, consent).",
    ("kind",),
)
THROTTLED = Counter(
    "cloudcx_throttle_refusals",
    "Requests refused by a limiter: sign-in brute-force defence or the API rate limit.",
    ("limiter", "scope"),
)
CACHE_HITS = Counter("cloudcx_cache_hits", "Record cache lookups answered from memory.", ("cache",))
CACHE_MISSES = Counter(
    "cloudcx_cache_misses", "Record cache lookups that read the database.", ("cache",)
)
DB_POOL_CHECKED_OUT = Gauge(
    "cloudcx_db_pool_checked_out",
    "Database connections in use, summed over live worker processes.",
    multiprocess_mode="livesum",
)
FEED_LAG_SECONDS = Histogram(
    "cloudcx_change_feed_lag_seconds",
    "Delay between a change's commit and this process applying it from the change feed.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_feed_lag(seconds: float) -> None:
    """Record how long a change took to reach this process through the change
    feed: ``seconds`` from its commit (in whichever process made it) until this
    process applied it. The change feed calls this once per change received."""
    FEED_LAG_SECONDS.observe(max(seconds, 0.0))


def token_issued(grant_type: str) -> None:
    TOKENS_ISSUED.labels(_grant_label(grant_type)).inc()


def token_refused(grant_type: str, reason: str) -> None:
    # ``reason`` is an RFC 6749 error code of the server's own, never client text.
    TOKENS_REFUSED.labels(_grant_label(grant_type), reason).inc()


def revoked(kind: str) -> None:
    REVOCATIONS.labels(kind).inc()


def throttled(limiter: str, scope: str) -> None:
    THROTTLED.labels(limiter, scope).inc()


def _grant_label(grant_type: str) -> str:
    if not grant_type:
        return "none"
    return grant_type if grant_type in GRANT_TYPES else "other"


class Sampler:
    """Copies the platform's own counters into metrics.

    ``caches`` maps a label to a ``RecordCache``; each cache's counts grow
    only, so what is copied is the growth since the last sample.
    """

    def __init__(self, caches: dict[str, RecordCache[Any, Any]], engine_pool: object) -> None:
        self._caches = caches
        self._pool = weakref.ref(engine_pool)
        self._seen: dict[str, tuple[int, int]] = dict.fromkeys(caches, (0, 0))

    def sample(self) -> None:
        for name, cache in self._caches.items():
            hits, misses = cache.hits, cache.misses
            seen_hits, seen_misses = self._seen[name]
            if hits > seen_hits:
                CACHE_HITS.labels(name).inc(hits - seen_hits)
            if misses > seen_misses:
                CACHE_MISSES.labels(name).inc(misses - seen_misses)
            self._seen[name] = (hits, misses)
        pool = self._pool()
        checked_out = getattr(pool, "checkedout", None)
        if callable(checked_out):
            DB_POOL_CHECKED_OUT.set(checked_out())


def exposition() -> bytes:
    """The text page: this process's metrics, or every worker's in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    _forget_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def _forget_dead_workers(directory: str) -> None:
    """A worker that died (and was replaced) must not keep counting in live gauges.

    Counters and histograms of a dead worker stay: their totals happened.
    """
    for pid in _gauge_pids(os.listdir(directory)):
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _gauge_pids(names: Iterable[str]) -> set[int]:
    pids: set[int] = set()
    for name in names:
        if name.startswith("gauge_live") and name.endswith(".db"):
            tail = name[: -len(".db")].rsplit("_", 1)[-1]
            if tail.isdigit():
                pids.add(int(tail))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_multiprocess_dir(directory: str) -> None:
    """Create the directory for worker files and remove a previous run's, whose
    numbers would otherwise be added to this run's."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def worker_stopped() -> None:
    """A worker that stops takes its live gauges with it."""
    multiprocess.mark_process_dead(os.getpid(), os.environ[MULTIPROC_ENV])  # type: ignore[no-untyped-call]
