"""users.email_key: emails compared NFKC and case-folded, unique per tenant.

Lower-casing alone let ``admin@acme.example.com`` spelt in fullwidth letters be
created beside ``admin@acme.example.com`` and look the same in every list.
The new key, ``unicodedata.normalize("NFKC", email.strip()).casefold()``
(``accounts.service.email_key``), is what sign-in and uniqueness compare.

Existing rows are backfilled. Where several users of one tenant already share
a key, the oldest (by creation time, then id) keeps it; every other gets the
key with ``#DUPLICATE-<user id>`` appended. No login can produce that key (a
case-folded key never holds an ASCII capital letter), so those accounts
cannot sign in, and cannot be found by email, until an administrator renames
or removes them; each one is logged as a warning. Nothing is deleted: the
users, their tickets and their audit trail stay as they were.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:10:00
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("cloudcx.migrations")

MAX_KEY = 320

users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("created_at", sa.DateTime()),
    sa.column("email_key", sa.String()),
)


def email_key(email: str) -> str:
    # A copy of accounts.service.email_key as of this revision: a migration
    # must not change when the application code does.
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def _keys(rows: Sequence[tuple[object, object, str]]) -> list[dict[str, object]]:
    """Each user's key, oldest first per tenant; later holders of a taken key get
    one that no login reaches."""
    taken: set[tuple[object, str]] = set()
    out = []
    for user_id, tenant_id, email in rows:
        key = email_key(email)[:MAX_KEY]
        if (tenant_id, key) in taken:
            suffix = f"#DUPLICATE-{user_id}"
            log.warning(
                "users: %s (id %s) has the same email key as an older user of its tenant; "
                "it cannot sign in until renamed",
                email,
                user_id,
            )
            key = key[: MAX_KEY - len(suffix)] + suffix
        taken.add((tenant_id, key))
        out.append({"user_id": user_id, "key": key})
    return out


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email_key", sa.String(length=320), nullable=True))
    bind = op.get_bind()
    rows = [
        (user_id, tenant_id, str(email))
        for user_id, tenant_id, email in bind.execute(
            sa.select(users.c.id, users.c.tenant_id, users.c.email).order_by(
                users.c.tenant_id, users.c.created_at, users.c.id
            )
        )
    ]
    if rows:
        bind.execute(
            users.update()
            .where(users.c.id == sa.bindparam("user_id"))
            .values(email_key=sa.bindparam("key")),
            _keys(rows),
        )
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("email_key", existing_type=sa.String(length=320), nullable=False)
        batch_op.create_index("uq_users_tenant_email_key", ["tenant_id", "email_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_index("uq_users_tenant_email_key")
        batch_op.drop_column("email_key")
