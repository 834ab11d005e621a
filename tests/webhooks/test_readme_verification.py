"""The README's ways to verify a webhook, run as written on a real delivery."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import WebhookVerificationError
from tests.test_readme import README, section
from tests.webhooks.conftest import Received, Receiver, make_endpoint

from cloudcx.contacts import service as contacts
from cloudcx.contacts.schemas import ContactCreate
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.webhooks import service
from cloudcx.webhooks.worker import Worker


def _blocks(language: str) -> list[str]:
    text = section(README.read_text(), "Webhooks")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


@pytest.fixture
async def delivered(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, receiver: Receiver, worker: Worker
) -> tuple[str, Received]:
    endpoint, old = await make_endpoint(db, platform, tenant, receiver.url())
    service.rotate_secret(platform.settings, endpoint)  # two signatures: either must do
    await db.commit()
    await contacts.create_contact(db, tenant.id, ContactCreate(email="ada@example.com"))
    await db.commit()
    await worker.run_once()
    return old, receiver.requests[0]


async def test_the_python_snippets_verify_and_refuse(delivered: tuple[str, Received]) -> None:
    secret, received = delivered
    names: dict[str, Any] = {}
    for block in _blocks("python"):
        exec(block, names)  # noqa: S102 (the README's own code)
    body = received.body.encode()
    assert names["verified"](secret, body, received.headers)["type"] == "contact.created"
    assert names["signed_by"](secret, body, received.headers)
    forged = body.replace(b"ada@", b"eve@")
    assert not names["signed_by"](secret, forged, received.headers)
    with pytest.raises(WebhookVerificationError):
        names["verified"](secret, forged, received.headers)
    other = "whsec_" + "QUFB" * 8
    assert not names["signed_by"](other, body, received.headers)


async def test_the_openssl_lines_print_the_signature(
    delivered: tuple[str, Received], tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    secret, received = delivered
    (block,) = _blocks("sh")
    (tmp_path / "body.json").write_text(received.body)
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET": secret,
        "ID": received.headers["webhook-id"],
        "TS": received.headers["webhook-timestamp"],
    }
    done = await asyncio.to_thread(
        subprocess.run,
        ["/bin/bash", "-c", block],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert f"v1,{done.stdout.strip()}" in received.headers["webhook-signature"].split()
