"""Conflict-safe edits in the Control Panel: a version travels with every edit form.

The version is the record's entity tag (``api.etag``: a digest of its public
representation), the same one the API compares with ``If-Match``, so a change
made through the API and one made in the console refuse each other alike.
Beside it the form carries the values it showed (``original``), so that a
stale save can say what changed, who changed it, and pre-fill a form that
keeps what the person changed and takes everything else from the record as it
is now (a three-way merge, offered for review, never saved silently).

A save whose version is not the record's current one is refused (409) with
that form; a request without a version (a script, not the page) is
unconditional, like a ``PATCH`` without ``If-Match`` (RFC 9110 §13.1.1).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from cloudcx.api.etag import etag_of

VERSION_FIELD = "version"
ORIGINAL_FIELD = "original"
# A tampered or oversized ``original`` is ignored: it only shapes the pre-filled form.
_MAX_ORIGINAL = 200_000


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A record as an edit form shows it: its version and the form's values."""

    version: str
    values: dict[str, str]

    @property
    def original(self) -> str:
        raw = json.dumps(self.values, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).decode()


def snapshot(public: BaseModel, values: Mapping[str, str]) -> Snapshot:
    """``public`` is the record's API representation (``TicketPublic``...)."""
    return Snapshot(version=etag_of(public).strip('"'), values=dict(values))


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs between the saved record and what was sent."""

    field: str
    label: str
    theirs: str
    yours: str
    changed_by_them: bool


@dataclass
class EditConflict(Exception):
    """A stale save: ``current`` is the record now, ``merged`` the values to offer."""

    current: Snapshot
    merged: dict[str, str]
    changes: list[Change] = field(default_factory=list)


def _decode(original: str) -> dict[str, str] | None:
    if not original or len(original) > _MAX_ORIGINAL:
        return None
    try:
        loaded = json.loads(base64.urlsafe_b64decode(original.encode()))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
        return None
    return {str(k): v for k, v in loaded.items()}


def check(
    version: str,
    original: str,
    current: Snapshot,
    yours: Mapping[str, str],
    labels: Mapping[str, str],
    shown: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Raise EditConflict unless ``version`` is ``current.version`` (or absent).

    ``yours`` are the submitted values of the form's fields, ``labels`` their
    names on screen, ``shown`` the words for the values of select fields.
    """
    if not version or hmac.compare_digest(version.encode(), current.version.encode()):
        return
    before = _decode(original) or current.values
    merged: dict[str, str] = {}
    changes: list[Change] = []
    for name, label in labels.items():
        now, mine = current.values.get(name, ""), yours.get(name, "")
        was = before.get(name, now)
        merged[name] = mine if mine != was else now
        if now != mine:
            words = (shown or {}).get(name, {})
            changes.append(
                Change(
                    field=name,
                    label=label,
                    theirs=words.get(now, now),
                    yours=words.get(mine, mine),
                    changed_by_them=now != was,
                )
            )
    raise EditConflict(current=current, merged=merged, changes=changes)
