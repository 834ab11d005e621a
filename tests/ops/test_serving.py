"""How ``cloudcx serve`` runs uvicorn: logging, no second access line, shared metrics."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from cloudcx import server
from cloudcx.config import Settings
from cloudcx.ops import logs
from cloudcx.ops.metrics import MULTIPROC_ENV
from tests.live_server import running


@pytest.fixture
def uvicorn_call(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in (MULTIPROC_ENV, "CLOUDCX_LOG_FORMAT"):
        # Set, then removed: monkeypatch restores the original, whatever server.run sets.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return seen


def serve(tmp_path: Path, workers: int, log_format: logs.LogFormat | None = None) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    server.run(
        settings, host="127.0.0.1", port=1, workers=workers, reload=False, log_format=log_format
    )


@pytest.mark.parametrize("chosen", ["json", "text"])
def test_one_log_config_for_every_worker_and_no_uvicorn_access_line(
    tmp_path: Path, uvicorn_call: dict[str, Any], chosen: logs.LogFormat
) -> None:
    serve(tmp_path, workers=1, log_format=chosen)
    assert uvicorn_call["access_log"] is False
    config = uvicorn_call["log_config"]
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
    formatter = config["formatters"]["cloudcx"]["()"]
    assert formatter == f"cloudcx.ops.logs.{chosen.title()}Formatter"
    assert os.environ["CLOUDCX_LOG_FORMAT"] == chosen  # what spawned workers read
    assert MULTIPROC_ENV not in os.environ  # one process needs no shared files


@pytest.mark.parametrize(("tty", "expected"), [(True, "text"), (False, "json")])
def test_text_on_a_terminal_json_otherwise(
    monkeypatch: pytest.MonkeyPatch, tty: bool, expected: str
) -> None:
    class Stream:
        def isatty(self) -> bool:
            return tty

    monkeypatch.setattr(logs.sys, "stderr", Stream())
    assert logs.resolve_format(None) == expected
    assert logs.resolve_format("json") == "json"
    assert logs.resolve_format("text") == "text"


def test_several_workers_share_a_fresh_metrics_directory(
    tmp_path: Path, uvicorn_call: dict[str, Any]
) -> None:
    directory = tmp_path / "var" / "metrics"
    directory.mkdir(parents=True)
    (directory / "counter_4242.db").write_bytes(b"stale numbers of a previous run")
    (directory / "keep.txt").write_text("not ours")
    serve(tmp_path, workers=2)
    assert os.environ[MULTIPROC_ENV] == str(directory.resolve())
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]


@pytest.mark.slow
def test_metrics_of_every_worker_appear(tmp_path: Path) -> None:
    with running(tmp_path, args=("--workers", "2", "--log-format", "json")) as live:
        with live.http() as http:
            answered = 0
            for _ in range(40):
                assert http.get("/healthz").status_code == 200
                answered += 1
            pids = set()
            total = 0.0
            for _ in range(10):  # each scrape is answered by one worker or the other
                page = http.get("/metrics").text
                pattern = r'cloudcx_http_request_duration_seconds_count\{method="GET",' + (
                    r'route="/healthz",status="200"\} ([\d.]+)'
                )
                total = float(re.search(pattern, page).group(1))  # type: ignore[union-attr]
                pids = {p.name.rsplit("_", 1)[-1] for p in (tmp_path / "var" / "metrics").iterdir()}
        deadline = time.monotonic() + 5  # access lines are written within 50 ms, in batches
        while live.log().count('"route":"/healthz"') < total and time.monotonic() < deadline:
            time.sleep(0.05)
        log = live.log()
    assert len(pids) >= 2  # files of two worker processes
    # Every /healthz answered, by either worker, including the start-up probes.
    assert total >= answered
    assert log.count('"route":"/healthz"') == total  # one line each, none from uvicorn
    assert "uvicorn.access" not in log
