"""Refusals of one kind within a minute, kept in memory as one audit row with a count.

A flood of bad token requests or sign-ins would otherwise write a row each
(2,717 in one minute of one probe, 1,589 of them for 429s), and the rows would
bury everything else in the log. What an administrator needs is who tried, from
where, why they were refused and how often: so ``token.refused`` and
``signin.failure`` are counted per (tenant, account or login, address, reason)
per UTC minute, and each count is written as one row when its minute closes.

The row keeps the first event's time, actor and details, and adds ``count``
and the ``first`` and ``last`` times. Memory is bounded: past ``max_open``
counts at once, further new keys are written as plain rows, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudcx.audit.service import Action

AGGREGATED = frozenset({Action.TOKEN_REFUSED.value, Action.SIGNIN_FAILURE.value})
MAX_OPEN = 10_000

Key = tuple[Any, ...]


@dataclass
class Count:
    row: dict[str, Any]
    count: int = 1
    last: datetime | None = None
    # Set once the row is written while its minute was still open (a reader
    # asked for everything): later events update it rather than add a row.
    row_id: int | None = None
    written_count: int = 0

    def as_row(self) -> dict[str, Any]:
        first: datetime = self.row["time"]
        details = {
            **self.row["details"],
            "count": self.count,
            "first": first.isoformat(),
            "last": (self.last or first).isoformat(),
        }
        return {**self.row, "details": details}


def minute_of(time: datetime) -> datetime:
    return time.replace(second=0, microsecond=0)


def key_of(row: dict[str, Any]) -> Key | None:
    """The aggregate a row joins, or None for an event written as it is."""
    if row["action"] not in AGGREGATED:
        return None
    details = row["details"]
    # A failed sign-in names its login as the (anonymous) actor; a refused token
    # request as its target. The client of a refused request is not part of the
    # key: a flood with random client ids is one flood.
    login = row["actor_label"] if row["action"] == Action.SIGNIN_FAILURE else row["target_label"]
    return (
        row["tenant_id"],
        row["action"],
        login,
        row["ip"],
        str(details.get("reason", "")),
        details.get("status"),
        minute_of(row["time"]),
    )


class Aggregates:
    def __init__(self, max_open: int = MAX_OPEN) -> None:
        self._open: dict[Key, Count] = {}
        self._max_open = max_open

    def __len__(self) -> int:
        return len(self._open)

    def add(self, row: dict[str, Any]) -> bool:
        """Count ``row`` into its aggregate; False if it is to be written as it is."""
        key = key_of(row)
        if key is None:
            return False
        found = self._open.get(key)
        if found is not None:
            found.count += 1
            found.last = row["time"]
            return True
        if len(self._open) >= self._max_open:
            return False
        self._open[key] = Count(row)
        return True

    def take(self, now: datetime, *, everything: bool) -> list[Count]:
        """The counts to write: those of minutes before ``now``'s, or all of them.

        Closed minutes leave memory; open ones written early stay, to be
        updated by their later events.
        """
        minute = minute_of(now)
        taken = []
        for key, count in list(self._open.items()):
            closed = key[-1] < minute
            if closed:
                del self._open[key]
            if (closed or everything) and count.count > count.written_count:
                taken.append(count)
        return taken

    def put_back(self, counts: list[Count]) -> None:
        """Counts whose write failed, kept for the next try."""
        for count in counts:
            key = key_of(count.row)
            assert key is not None
            self._open.setdefault(key, count)
