"""Events written from the shell: user creation is audited with the CLI as actor."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests import servers


def test_cli_user_create_and_purge_are_audited(tmp_path: Path) -> None:
    env = servers.server_env(tmp_path)
    env["CLOUDCX_AUTO_MIGRATE"] = "true"

    def cli(*args: str) -> str:
        done = subprocess.run(
            servers.command(*args), env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    cli("db", "upgrade")
    cli(
        "tenant",
        "create",
        "--name",
        "Acme",
        "--domain",
        "cx.acme.example",
        "--admin-email",
        "boss@acme.example",
        "--admin-password",
        "a-long-and-Good-passw0rd",
    )
    cli(
        "user",
        "create",
        "--tenant",
        "cx.acme.example",
        "--email",
        "new@acme.example",
        "--password",
        "another-Long-passphrase-42",
        "--role",
        "agent",
    )
    assert "Deleted 0 audit events." in cli("audit", "purge")
    db = sqlite3.connect(tmp_path / "cloudcx.db")
    try:
        rows = db.execute(
            "SELECT action, actor_type, actor_label, target_label, details FROM audit_events"
        ).fetchall()
    finally:
        db.close()
    assert rows == [
        ("user.created", "system", "cli", "boss@acme.example", '{"role": "admin"}'),
        ("user.created", "system", "cli", "new@acme.example", '{"role": "agent"}'),
    ]
