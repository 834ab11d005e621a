"""The in-memory revocation set each process keeps (DESIGN.md §4)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from cloudcx.db import utcnow
from cloudcx.oauth.models import Revocation
from cloudcx.oauth.revocation import Kind, RevocationSet, consent_key
from cloudcx.oauth.tokens import AccessToken


def token(jti: str = "j1", client_id: str = "c1", user: uuid.UUID | None = None) -> AccessToken:
    now = int(utcnow().timestamp())
    return AccessToken(
        jti=jti,
        subject="s",
        client_id=client_id,
        tenant_id=uuid.uuid4(),
        scopes=frozenset(),
        issued_at=now - 10,
        expires_at=now + 3600,
        user_id=user,
    )


def row(id_: int, kind: Kind, value: str) -> Revocation:
    now = utcnow()
    return Revocation(
        id=id_,
        tenant_id=uuid.uuid4(),
        kind=kind.value,
        value=value,
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


def test_a_reused_row_id_is_still_applied() -> None:
    """SQLite reuses the ids of purged rows: a new revocation must not be skipped."""
    revocations = RevocationSet(None)  # type: ignore[arg-type]
    revocations.apply(row(1, Kind.TOKEN, "old"))
    revocations.apply(row(1, Kind.TOKEN, "j1"))
    assert revocations.is_revoked(token("j1"))


def test_consent_revocation_covers_one_user_at_one_client() -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    revocations = RevocationSet(None)  # type: ignore[arg-type]
    revocations.apply(row(1, Kind.CONSENT, consent_key("c1", user)))
    assert revocations.is_revoked(token(client_id="c1", user=user))
    assert not revocations.is_revoked(token(client_id="c1", user=other))
    assert not revocations.is_revoked(token(client_id="c2", user=user))


def test_revoking_one_user_again_and_again_keeps_one_entry() -> None:
    user = uuid.uuid4()
    revocations = RevocationSet(None)  # type: ignore[arg-type]
    first = row(1, Kind.USER, str(user))
    for step in range(100):
        again = row(1, Kind.USER, str(user))
        again.created_at = first.created_at + timedelta(seconds=step)
        revocations.apply(again)
    assert len(revocations) == 1
    assert revocations._users[str(user)] == (first.created_at + timedelta(seconds=99)).timestamp()


def test_an_older_cut_arriving_late_does_not_move_the_cut_back() -> None:
    user = uuid.uuid4()
    revocations = RevocationSet(None)  # type: ignore[arg-type]
    newer = row(1, Kind.USER, str(user))
    older = row(1, Kind.USER, str(user))
    older.created_at = newer.created_at - timedelta(minutes=5)
    revocations.apply(newer)
    revocations.apply(older)
    assert revocations._users[str(user)] == newer.created_at.timestamp()


def test_entries_past_every_tokens_lifetime_are_forgotten() -> None:
    revocations = RevocationSet(None)  # type: ignore[arg-type]
    old = row(1, Kind.TOKEN, "old-jti")
    old.created_at = utcnow() - timedelta(seconds=RevocationSet.HORIZON + 1)
    revocations.apply(old)
    revocations.apply(row(2, Kind.TOKEN, "j1"))
    assert revocations.prune() == 1
    assert len(revocations) == 1
    assert not revocations.is_revoked(token("old-jti"))
    assert revocations.is_revoked(token("j1"))


def test_pruning_one_tenants_row_keeps_anothers_with_the_same_value() -> None:
    revocations = RevocationSet(None)  # type: ignore[arg-type]
    old = row(1, Kind.GRANT, "family-1")
    old.created_at = utcnow() - timedelta(seconds=RevocationSet.HORIZON + 1)
    revocations.apply(old)
    revocations.apply(row(2, Kind.GRANT, "family-1"))
    assert revocations.prune() == 1
    assert "family-1" in revocations._grants
