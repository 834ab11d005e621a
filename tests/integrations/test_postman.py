"""The exported Postman collection, run by newman against a real server with demo data.

This is the guide's Postman path made automatic: ``cloudcx postman export``
writes the collection, newman (Postman's runner, pinned in
``tests/integrations/newman/package.json``) sends every request in order, and
the Postman tests inside the collection assert each status: the guide's token
request with ``email`` and with ``username``, 401 without a token, 403 for a
missing scope, every API operation, the code flow with PKCE and client
credentials. Without Node.js or newman the tests skip and say why; with
``CLOUDCX_REQUIRE_NODE=1`` (as in CI) they fail instead.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudcx.api import postman
from tests.integrations.node import node_environment, node_package
from tests.integrations.people import Administrator
from tests.live_server import LiveServer, running

pytestmark = pytest.mark.slow

NEWMAN_DIR = Path(__file__).resolve().parent / "newman"
NEWMAN_TIMEOUT = 120
# Registered on the client as Postman's own callback; the requests never follow it.
REDIRECT_URI = "https://oauth.pstmn.io/v1/callback"


def newman_command() -> list[str]:
    """The project's pinned newman; skip, or fail when Node is required."""
    node_package(NEWMAN_DIR, "newman")
    return [str(NEWMAN_DIR / "node_modules" / ".bin" / "newman")]


@dataclass
class Setup:
    server: LiveServer
    client_id: str
    confidential_client_id: str
    confidential_client_secret: str
    exported: Path

    def variables(self, *, all_folders: bool) -> dict[str, str]:
        """The four a reader sets, and those of the code-flow and client-credentials folders."""
        four = {
            "email": self.server.admin_email,
            "password": self.server.admin_password,
            "client_id": self.client_id,
        }
        if not all_folders:
            return four
        return four | {
            "redirect_uri": REDIRECT_URI,
            "confidential_client_id": self.confidential_client_id,
            "confidential_client_secret": self.confidential_client_secret,
        }

    @property
    def collection(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.exported / postman.COLLECTION_FILE).read_text())
        return document


@pytest.fixture(scope="module")
def newman() -> list[str]:
    return newman_command()


@pytest.fixture(scope="module")
def setup(newman: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A server with demo data, the guide's client (also allowed the code flow), a
    confidential client allowed client credentials, and the exported collection."""
    with running(tmp_path_factory.mktemp("postman-server"), args=("--demo",)) as server:
        client_id = server.create_client("Postman", "Runs the CloudCX collection.")
        machine = server.create_client("Nightly export", "Exports tickets every night.")
        with Administrator(server, server.admin_email, server.admin_password) as admin:
            admin.allow_code_flow(client_id, REDIRECT_URI)
            secret = admin.generate_client_secret(machine)
            page = admin.edit_page(machine)
            form = admin.settings_form(page)
            form.check("Client credentials")
            assert admin.submit(form, "Save", page).is_redirect
        exported = server.workdir / "postman"
        server.cli("postman", "export", "--domain", server.base_url, "--output", str(exported))
        yield Setup(server, client_id, machine, secret, exported)


def run_newman(
    newman: list[str], setup: Setup, variables: dict[str, str], *args: str
) -> dict[str, Any]:
    """``newman run`` of the exported files; the JSON report of the run."""
    report = setup.exported / "report.json"
    report.unlink(missing_ok=True)
    command = [
        *newman, "run", str(setup.exported / postman.COLLECTION_FILE),
        "--environment", str(setup.exported / postman.ENVIRONMENT_FILE),
        *[part for key, value in variables.items() for part in ("--env-var", f"{key}={value}")],
        "--reporters", "cli,json", "--reporter-json-export", str(report),
        "--color", "off", "--disable-unicode", "--timeout-request", "15000", *args,
    ]  # fmt: skip
    env = node_environment()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=NEWMAN_TIMEOUT, check=False
    )
    assert done.returncode == 0, f"newman failed:\n{done.stdout[-8000:]}\n{done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(report.read_text())["run"]
    assert result["failures"] == []
    assert result["stats"]["assertions"]["failed"] == 0
    return result


def requests_of(items: list[dict[str, Any]], skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    found = []
    for item in items:
        if "item" in item:
            if item["name"] not in skip:
                found += requests_of(item["item"], skip)
        else:
            found.append(item)
    return found


@dataclass
class Execution:
    name: str
    status: int
    passed: list[str]
    sent: int  # HTTP requests: 2 when a script sent one first (pm.sendRequest)


def executed(result: dict[str, Any]) -> list[Execution]:
    """What newman did for each request, in order. Its JSON report lists a request's
    execution once per HTTP request the item sent (scripts' ones included)."""
    out: list[Execution] = []
    seen: dict[str, Execution] = {}
    for execution in result["executions"]:
        ref = execution["cursor"]["ref"]
        if ref in seen:
            seen[ref].sent += 1
            continue
        assertions = execution.get("assertions", [])
        assert all("error" not in a for a in assertions), execution["item"]["name"]
        seen[ref] = Execution(
            execution["item"]["name"],
            execution["response"]["code"],
            [a["assertion"] for a in assertions],
            1,
        )
        out.append(seen[ref])
    return out


def test_the_exported_collection_is_the_served_one(setup: Setup) -> None:
    with setup.server.http() as http:
        for path, name in (
            (postman.COLLECTION_PATH, postman.COLLECTION_FILE),
            (postman.ENVIRONMENT_PATH, postman.ENVIRONMENT_FILE),
        ):
            served = http.get(path)
            assert served.status_code == 200
            assert served.content == (setup.exported / name).read_bytes(), name


def test_every_request_succeeds_with_its_expected_status(newman: list[str], setup: Setup) -> None:
    result = run_newman(newman, setup, setup.variables(all_folders=True))
    runs = executed(result)
    expected = [item["name"] for item in requests_of(setup.collection["item"])]
    assert [run.name for run in runs] == expected, "every request ran, in order, none skipped"
    assert all(run.passed for run in runs), "every request asserted something"
    assert all(run.sent == 1 for run in runs), "the token came from the guide's request"
    status = {run.name: run.status for run in runs}
    assert status["Get an access token (the guide: email)"] == 200
    assert status["Get an access token (username)"] == 200
    assert status["Without a token: 401"] == 401
    assert status["Missing scope: 403"] == 403
    assert status["A revoked token: 401"] == 401
    assert status["Create a ticket"] == 201
    assert status["Delete a ticket and its conversation"] == 204
    assert status["Exchange the code for tokens"] == 200
    assert status["Introspect the token (RFC 7662)"] == 200
    with setup.server.http() as http:
        openapi = http.get("/openapi.json").json()
    operations = sum(len(ops) for path, ops in openapi["paths"].items() if "/api/v1/" in path)
    assert len([run for run in runs if 200 <= run.status < 300]) >= operations


def test_four_variables_are_enough(newman: list[str], setup: Setup) -> None:
    """The README's promise: base URL (filled in), email, password, client id, send. The
    code-flow and client-credentials folders wait for their own variables."""
    result = run_newman(newman, setup, setup.variables(all_folders=False))
    names = [run.name for run in executed(result)]
    skip = (postman.CODE_FLOW, postman.CLIENT_CREDENTIALS)
    assert names == [item["name"] for item in requests_of(setup.collection["item"], skip)]


def test_any_request_alone_gets_its_token(newman: list[str], setup: Setup) -> None:
    """No token request runs: the collection's pre-request script gets the token."""
    result = run_newman(newman, setup, setup.variables(all_folders=False), "--folder", "Me")
    [me] = executed(result)
    assert (me.name, me.status, me.sent) == ("The user, tenant and client of this token", 200, 2)
    assert me.passed == ["200 The user, tenant and client of this token"]
