"""Extreme query values for the list endpoints' property tests (API and Control Panel).

Integers past 64 bits, times at the edges of what ``datetime`` can hold (with
offsets that push them past year 1 or year 9999 once converted to UTC), and
strings of any character. Cursors are built from the same values, in each
listing's own cursor format, so that a hand-made cursor is tested as well as
a garbled one.

Hypothesis draws the values (derandomized: the same ones every run); the async
tests then send them, since Hypothesis cannot drive a coroutine itself.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T = TypeVar("T")

EXAMPLES = 50

BIG_INTEGERS = [2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -1, 0]
EDGE_TIMES = [
    "9999-12-31",
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00+99:00",
]

# Any text a URL can carry (no lone surrogates: those cannot be encoded as UTF-8).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
integers = st.one_of(st.sampled_from(BIG_INTEGERS), st.integers()).map(str)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
edge_datetimes = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 2)), st.datetimes(min_value=datetime(9999, 12, 31))
)


def _past_max(minutes: int) -> str:
    """A time ``minutes`` before the end of year 9999, at an offset that moves its UTC past it."""
    near = datetime(9999, 12, 31, 23, 59) - timedelta(minutes=minutes)
    return near.replace(tzinfo=timezone(timedelta(minutes=-minutes - 1))).isoformat()


def _before_min(minutes: int) -> str:
    near = datetime(1, 1, 1) + timedelta(minutes=minutes)
    return near.replace(tzinfo=timezone(timedelta(minutes=minutes + 1))).isoformat()


# Times that have no UTC value, just past either end of what datetime holds.
no_utc = st.integers(0, 14 * 60 - 2).flatmap(
    lambda m: st.sampled_from([_past_max(m), _before_min(m)])
)
times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    no_utc,
    edge_datetimes.flatmap(lambda d: offsets.map(lambda tz: d.replace(tzinfo=tz).isoformat())),
    st.datetimes(timezones=st.one_of(st.none(), offsets)).map(datetime.isoformat),
    st.dates().map(lambda d: d.isoformat()),
)
values = st.one_of(integers, times, any_text)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def mostly(usual: st.SearchStrategy[T], other: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``usual`` three times in four (``one_of`` would merge a strategy given twice)."""
    return st.integers(0, 3).flatmap(lambda n: usual if n else other)


def keyset_cursor(sort: str, value: str, id_: str) -> str:
    """A cursor in ``api.pagination``'s format, holding whatever it is given."""
    payload = orjson.dumps({"s": sort, "v": value, "i": id_})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def keyset_cursors(sorts: list[str]) -> st.SearchStrategy[str]:
    ids = mostly(st.uuids().map(str), st.one_of(integers, any_text))
    made = st.builds(keyset_cursor, st.sampled_from(sorts), st.one_of(no_utc, times), ids)
    return mostly(made, st.one_of(any_text, st.binary(max_size=40).map(_b64)))


def positions() -> st.SearchStrategy[str]:
    """Audit log positions, ``<µs since epoch>_<id>``, in range or not."""
    return st.one_of(
        st.tuples(integers, integers).map(lambda t: f"{t[0].lstrip('-')}_{t[1].lstrip('-')}"),
        st.sampled_from(["9223372036854775808", "999999999999999999_1", "0_9223372036854775808"]),
        st.datetimes().map(lambda d: f"{(d.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND}_1"),
        integers,
        any_text,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def value_of(own: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A parameter's own kind of value (at its extremes) or any extreme value."""
    return mostly(own, values)


def examples(strategy: st.SearchStrategy[T], count: int = EXAMPLES) -> list[T]:
    drawn: list[T] = []

    @settings(
        max_examples=count,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn
