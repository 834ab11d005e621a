"""Schemathesis against ``/openapi.json`` of a real server: no 5xx, no response off-schema.

Every operation gets a bounded number of generated requests (valid and
invalid), sent with an administrator's token so the handlers run past
authentication. Hypothesis is derandomized, so the cases are the same each run.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests import servers

pytestmark = pytest.mark.slow

# The run's size is bounded as the API grows: a budget shared by every
# operation and generation mode, with a floor so none goes untested.
CASE_BUDGET = 500
MIN_EXAMPLES = 10
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def admin_token(base: str, var_dir: Path) -> str:
    created = subprocess.run(
        servers.command("client", "create", "--tenant", "127.0.0.1", "--name", "Schemathesis"),
        env=servers.server_env(var_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    client_id = created.stdout.strip().splitlines()[-1]
    response = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "password",
            "username": servers.ADMIN_EMAIL,
            "password": servers.ADMIN_PASSWORD,
            "client_id": client_id,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_openapi_operations_hold_their_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    seen: Counter[str] = Counter()
    with servers.running_server(tmp_path, port):
        auth = {"Authorization": f"Bearer {admin_token(base, tmp_path)}"}
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        per_run = max(MIN_EXAMPLES, CASE_BUDGET // (2 * len(operations)))
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=per_run,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base, headers=auth)
                    case.validate_response(response, checks=CHECKS)
                    seen[f"{case.operation.label} {response.status_code}"] += 1

                try:
                    run()
                except Unsatisfiable:
                    # Nothing to make invalid (an operation without parameters).
                    assert mode is GenerationMode.NEGATIVE, operation.label
    total = sum(seen.values())
    with capsys.disabled():
        print(f"\n[schemathesis] {total} cases: {dict(sorted(seen.items()))}")
    assert total >= 100
