"""Load with wrk, as the peers are measured (shared/peers/bench.sh): 2 threads,
32 keep-alive connections, a 2 s warm-up that is thrown away, then 10 s measured."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
CASE_LUA = HERE / "case.lua"
REFRESH_LUA = HERE / "refresh.lua"


@dataclass(frozen=True)
class Load:
    threads: int = 2
    connections: int = 32
    seconds: int = 10
    warmup: int = 2


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers, timeouts and socket errors

    @classmethod
    def parse(cls, out: str) -> Result:
        line = next(x for x in out.splitlines() if x.startswith("RESULT "))
        r = json.loads(line.removeprefix("RESULT "))
        errors = sum(r[k] for k in ("err_status", "err_timeout", "err_connect", "err_read"))
        return cls(r["rps"], r["p50_ms"], r["p99_ms"], r["requests"], errors)


def wrk(
    url: str,
    load: Load,
    *,
    method: str = "GET",
    body: str = "",
    auth: str = "",
    script: Path = CASE_LUA,
    env: dict[str, str] | None = None,
    seconds: int | None = None,
) -> Result:
    """One case: the warm-up, then the measured run."""
    environ = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_BODY": body,
        "WRK_AUTH": auth,
        **(env or {}),
    }
    base = ["wrk", "-t", str(load.threads), "-c", str(load.connections), "--timeout", "30s"]
    if load.warmup:
        _run([*base, "-d", f"{load.warmup}s", "-s", str(script), url], environ)
        drain(url)
    out = _run(
        [*base, "-d", f"{seconds or load.seconds}s", "--latency", "-s", str(script), url], environ
    )
    drain(url)
    return Result.parse(out)


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=True)
    return done.stdout


def drain(url: str) -> None:
    """Let requests still queued from a run finish before the next one starts."""
    base = url.split("/", 3)
    with contextlib.suppress(httpx.HTTPError):
        httpx.get("/".join(base[:3]) + "/healthz", timeout=120)
    time.sleep(0.5)
