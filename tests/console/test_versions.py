"""console.versions: the version check and the three-way merge a stale save is offered."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from cloudcx.console import versions

LABELS = {"status": "Status", "priority": "Priority"}


class Record(BaseModel):
    status: str
    priority: str


def snap(status: str, priority: str) -> versions.Snapshot:
    values = {"status": status, "priority": priority}
    return versions.snapshot(Record(**values), values)


def test_the_version_is_the_apis_etag() -> None:
    from cloudcx.api.etag import etag_of

    assert f'"{snap("open", "low").version}"' == etag_of(Record(status="open", priority="low"))
    assert snap("open", "low").version != snap("open", "high").version


@pytest.mark.parametrize("version", ["", None], ids=["empty", "absent"])
def test_no_version_is_unconditional(version: str | None) -> None:
    versions.check(version or "", "", snap("open", "low"), {"status": "x"}, LABELS)


def test_the_current_version_passes() -> None:
    now = snap("open", "low")
    versions.check(now.version, now.original, now, {"status": "solved"}, LABELS)


def test_a_stale_version_merges_mine_over_theirs() -> None:
    before, now = snap("open", "normal"), snap("solved", "normal")
    mine = {"status": "open", "priority": "high"}
    with pytest.raises(versions.EditConflict) as caught:
        versions.check(before.version, before.original, now, mine, LABELS, {"status": {}})
    conflict = caught.value
    assert conflict.current == now
    assert conflict.merged == {"status": "solved", "priority": "high"}
    assert [(c.label, c.theirs, c.yours, c.changed_by_them) for c in conflict.changes] == [
        ("Status", "solved", "open", True),
        ("Priority", "normal", "high", False),
    ]


def test_words_for_values_are_shown() -> None:
    before, now = snap("open", "normal"), snap("on_hold", "normal")
    words = {"status": {"on_hold": "On hold", "open": "Open"}}
    with pytest.raises(versions.EditConflict) as caught:
        versions.check(before.version, before.original, now, before.values, LABELS, words)
    (change,) = caught.value.changes
    assert (change.theirs, change.yours) == ("On hold", "Open")


@pytest.mark.parametrize("original", ["", "%%%", "W10=", "x" * 300_000])
def test_without_a_usable_original_mine_wins_where_it_differs(original: str) -> None:
    before, now = snap("open", "normal"), snap("solved", "normal")
    with pytest.raises(versions.EditConflict) as caught:
        versions.check(before.version, original, now, {"status": "open", "priority": "x"}, LABELS)
    assert caught.value.merged == {"status": "open", "priority": "x"}
