"""The peer servers of shared/peers, measured by their own script beside CloudCX."""

from __future__ import annotations

import csv
import os
import re
import shlex
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.cases import Result

# Where the peers' scripts live: the repository's sibling folder, as laid out here.
PEERS_DIR = Path(
    os.environ.get("CLOUDCX_PEERS_DIR", Path(__file__).resolve().parents[2] / "shared" / "peers")
)
PEERS_ROOT = Path(
    os.environ.get(
        "PEERS_ROOT",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cloudcx-peers",
    )
)
# A peer counts as set up once its setup script has installed it.
INSTALLED = {"oidcp": "oidc-provider/node_modules", "authlib": "authlib/venv", "dot": "dot/venv"}
NAMES = {
    "oidcp": "oidc-provider 9 (Node.js)",
    "authlib": "Authlib + Flask",
    "dot": "django-oauth-toolkit",
    "ext": "CloudCX",
}


def available() -> list[str]:
    if not (PEERS_DIR / "bench.sh").exists():
        return []
    return [p for p, marker in INSTALLED.items() if (PEERS_ROOT / marker).exists()]


@dataclass(frozen=True)
class PeerRun:
    results: dict[tuple[str, str], Result]  # (peer, case) -> median over repetitions
    summary: str
    raw_dir: str


def run(peers: list[str], ext_command: list[str], ext_env: dict[str, str], repeats: int) -> PeerRun:
    """``bench.sh`` with CloudCX as its ``ext`` peer; every peer alone on the machine in turn."""
    env = {
        **ext_env,
        "EXT_PORT": "8103",
        "EXT_RUN_CMD": " ".join(shlex.quote(a) for a in ext_command),
        "REPEATS": str(repeats),
        "DURATION": "10s",
        "WARMUP": "2s",
        "THREADS": "2",
        "CONNS": "32",
        "PEERS_ROOT": str(PEERS_ROOT),
    }
    done = subprocess.run(
        ["bash", str(PEERS_DIR / "bench.sh"), *peers, "ext"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    raw = re.search(r"^raw results: (.+)$", done.stdout, re.MULTILINE)
    if raw is None:
        raise RuntimeError("bench.sh printed no results folder:\n" + done.stdout[-2000:])
    rows = list(csv.DictReader((Path(raw.group(1)) / "results.csv").open()))
    results: dict[tuple[str, str], Result] = {}
    for key in {(r["peer"], r["case"]) for r in rows}:
        mine = [r for r in rows if (r["peer"], r["case"]) == key]

        def median(field: str, rows: list[dict[str, str]] = mine) -> float:
            return statistics.median(float(r[field]) for r in rows)

        errors = sum(int(r["err_status"]) + int(r["err_timeout"]) for r in mine)
        results[key] = Result(
            median("rps"), median("p50_ms"), median("p99_ms"), int(median("requests")), errors
        )
    summary = done.stdout[done.stdout.find("machine:") :].split("raw results:")[0].strip()
    return PeerRun(results, summary, raw.group(1))
