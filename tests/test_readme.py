"""The README's curl commands, run as written against a real server.

They are read from README.md at test time, so the README cannot drift from
what the server does. The only change made to them is the address: the README
says 127.0.0.1:8000, the test server listens on a free port.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer, running

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_ADDRESS = "127.0.0.1:8000"
SHELL_TIMEOUT = 30
EXPORTED = {"CLIENT_ID", "ADMIN_EMAIL", "ADMIN_PASSWORD"}


def section(text: str, heading: str) -> str:
    """The text under the first heading starting with ``heading``, up to the next heading."""
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#{{2,6}} )", text, re.M | re.S)
    assert match, f"README.md has no section {heading!r}"
    return match.group(1)


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)


def json_documents(output: str) -> list[Any]:
    """``curl -s`` prints JSON bodies back to back; split them."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    output = output.strip()
    while at < len(output):
        doc, at = decoder.raw_decode(output, at)
        docs.append(doc)
        while at < len(output) and output[at].isspace():
            at += 1
    return docs


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replaces the suite's cleaner: this module uses the server's own database."""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed; the README's commands need it")
    with running(tmp_path_factory.mktemp("readme-server")) as server:
        yield server


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def client_id(live_server: LiveServer, readme: str) -> str:
    """Step 1 from the shell, with the README's own `cloudcx client create` line."""
    match = re.search(r"`(\.venv/bin/cloudcx client create [^`]+)`", section(readme, "Step 1"))
    assert match, "Step 1 no longer shows the shell way to create a client"
    argv = shlex.split(match.group(1))
    if not (ROOT / argv[0]).is_file():  # tests run from another environment
        return live_server.create_client("My app")
    done = subprocess.run(
        argv, cwd=ROOT, env=live_server.env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def run_block(block: str, server: LiveServer, client_id: str) -> str:
    """Run one README block with bash, pointed at the test server."""
    local = block.replace(README_ADDRESS, f"127.0.0.1:{server.port}")
    # The address is the one and only change made to the README's text.
    assert server.port != 8000
    assert f"127.0.0.1:{server.port}" not in block
    assert local.replace(f"127.0.0.1:{server.port}", README_ADDRESS) == block
    assert set(re.findall(r"https?://([^/\s\"']+)", block)) <= {README_ADDRESS}
    env = {
        **os.environ,
        "CLIENT_ID": client_id,
        "ADMIN_EMAIL": server.admin_email,
        "ADMIN_PASSWORD": server.admin_password,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    done = subprocess.run(
        ["bash", "-eu", "-o", "pipefail", "-c", local],
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{block}\nexit {done.returncode}: {done.stderr}"
    return done.stdout


def assert_token_answer(answer: Any, readme: str) -> None:
    sample = re.search(r"```json\n(.*?)```", section(readme, "Step 2"), re.S)
    assert sample, "Step 2 no longer shows the answer"
    keys_shown = set(re.findall(r'"(\w+)":', sample.group(1)))
    assert keys_shown <= set(answer), answer
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    assert answer["access_token"].startswith("eyJ")
    assert {"profile", "tickets:read", "audit:read"} <= set(answer["scope"].split())


def test_step_2_asks_for_exactly_the_variables_the_commands_use(readme: str) -> None:
    exports, *commands = sh_blocks(section(readme, "Step 2"))
    assert set(re.findall(r"^export (\w+)=", exports, re.M)) == EXPORTED
    used = set(re.findall(r"\$(\w+)", "\n".join(commands)))
    assert used == EXPORTED


def test_step_2_curl_commands_get_tokens(
    live_server: LiveServer, client_id: str, readme: str
) -> None:
    _, with_email, with_username = sh_blocks(section(readme, "Step 2"))
    assert "email=$ADMIN_EMAIL" in with_email
    assert "username=$ADMIN_EMAIL" in with_username
    for block in (with_email, with_username):
        (answer,) = json_documents(run_block(block, live_server, client_id))
        assert_token_answer(answer, readme)


def test_step_3_calls_the_api_with_the_token(
    live_server: LiveServer, client_id: str, readme: str
) -> None:
    (block,) = sh_blocks(section(readme, "Step 3"))
    me, tickets = json_documents(run_block(block, live_server, client_id))
    assert me["user"]["email"] == live_server.admin_email
    assert me["user"]["role"] == "admin"
    assert me["client"]["client_id"] == client_id
    assert me["client"]["client_name"] == "My app"
    assert isinstance(tickets["data"], list)
