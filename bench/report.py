"""``bench/REPORT.md``, written from one run's measurements."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.cases import Result
from bench.peers import NAMES, PeerRun
from bench.webhooks import DEADLINE, WebhookResult

NOTES = Path(__file__).with_name("NOTES.md")
PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "granian",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "pyjwt",
    "cryptography",
    "argon2-cffi",
    "orjson",
    "pydantic",
)
SHARED = ("password_grant", "client_credentials_grant", "api_me_bearer")
# Targets of the performance work: (case, req/s at least, p99 ms at most or None).
TARGETS = {
    "refresh_grant": (800.0, None),
    "tickets_list": (1500.0, 50.0),
}


@dataclass
class Memory:
    minutes: float
    samples: list[tuple[float, list[float]]]  # (seconds in, RSS MiB of each worker)
    results: dict[str, Result]


@dataclass
class Findings:
    machine: str
    # ms per verification; verifications/s on all cores by it; the same measured at once
    argon2: tuple[float, float, float]
    peers: PeerRun | None = None
    sqlite: dict[str, Result] = field(default_factory=dict)
    postgres: dict[str, Result] = field(default_factory=dict)
    memory: Memory | None = None
    webhooks: dict[str, WebhookResult] = field(default_factory=dict)
    minutes: float = 0.0
    python: str = ""


def machine() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return f"{os.cpu_count()} CPUs ({model}), {pages / 2**30:.0f} GiB, {platform.platform()}"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def _cell(r: Result | None) -> str:
    if r is None:
        return "-"
    errors = f", **{r.errors} errors**" if r.errors else ""
    return f"{r.rps:,.0f}/s (p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms{errors})"


def shared_table(f: Findings) -> list[str]:
    peers = sorted({p for p, _ in f.peers.results if p != "ext"}) if f.peers else []
    head = (
        "| case | CloudCX | " + " | ".join(NAMES[p] for p in peers) + " | CloudCX ÷ fastest peer |"
    )
    lines = [head, "|---" * (len(peers) + 3) + "|"]
    for case in (*SHARED, "introspection", "introspection_opaque"):
        ours = f.peers.results.get(("ext", case)) if f.peers else f.sqlite.get(case)
        if case.startswith("introspection"):
            ours = f.sqlite.get("introspection")
        theirs = [f.peers.results.get((p, case)) if f.peers else None for p in peers]
        rates = [t.rps for t in theirs if t is not None and not t.errors]
        if ours is None and not rates:
            continue
        ratio = f"{ours.rps / max(rates):.2f}" if ours and rates else "-"
        cells = " | ".join(_cell(t) for t in theirs)
        lines.append(f"| {case} | {_cell(ours)} | {cells} | {ratio} |")
    return lines


def own_table(f: Findings) -> list[str]:
    lines = ["| case | SQLite | PostgreSQL | target |", "|---|---|---|---|"]
    for case in ("introspection", "refresh_grant", "tickets_list", *SHARED):
        if case not in f.sqlite and case not in f.postgres:
            continue
        target = TARGETS.get(case)
        goal = ""
        if target:
            goal = f"≥ {target[0]:,.0f}/s" + (f", p99 < {target[1]:.0f} ms" if target[1] else "")
            goal += " — " + ", ".join(
                f"{db} {'met' if _meets(r, target) else 'missed'}"
                for db, r in (("SQLite", f.sqlite.get(case)), ("PostgreSQL", f.postgres.get(case)))
                if r is not None
            )
        lines.append(
            f"| {case} | {_cell(f.sqlite.get(case))} | {_cell(f.postgres.get(case))} | {goal} |"
        )
    return lines


def _meets(r: Result, target: tuple[float, float | None]) -> bool:
    rate, p99 = target
    return r.rps >= rate and (p99 is None or r.p99_ms < p99) and not r.errors


def memory_lines(m: Memory) -> list[str]:
    lines = [
        f"All cases at once for {m.minutes:g} minutes (wrk, 1 thread and 4 connections each):",
        "",
    ]
    lines += ["| case | rate |", "|---|---|"]
    lines += [f"| {name} | {_cell(r)} |" for name, r in sorted(m.results.items())]
    if m.samples:
        first = next((s for s in m.samples if s[0] >= 30), m.samples[0])
        last = m.samples[-1]
        lines += [
            "",
            "| worker RSS | " + " | ".join(f"worker {i + 1}" for i in range(len(last[1]))) + " |",
        ]
        lines.append("|---" * (len(last[1]) + 1) + "|")
        for label, (at, rss) in (("after warm-up", first), ("at the end", last)):
            lines.append(
                f"| {label} ({at:.0f} s) | " + " | ".join(f"{v:.1f} MiB" for v in rss) + " |"
            )
    return lines


def webhook_lines(results: dict[str, WebhookResult]) -> list[str]:
    lines = [
        "`bench/webhooks.py`: contacts created by 4 writers, one transaction and one event",
        "each, delivered by the process's worker to a receiver on loopback answering 200.",
        "",
        "| backend | events | delivered | rate | commit to delivery |",
        "|---|---:|---:|---:|---:|",
    ]
    for backend, r in results.items():
        late = "" if r.delivered == r.events else f" (the rest not within {DEADLINE:g} s)"
        lines.append(
            f"| {backend} | {r.events:,} | {r.delivered:,}{late} | {r.rate:,.0f}/s | "
            f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms |"
        )
    return lines


def render(f: Findings) -> str:
    ms, limit, together = f.argon2
    out = [
        "# Benchmark report",
        "",
        "Written by `make bench` (`.venv/bin/python -m bench.run`); do not edit by hand —",
        "the analysis lives in `bench/NOTES.md` and is copied in at the end.",
        "",
        "## Machine and settings",
        "",
        f"- {f.machine}; Python {f.python}; the load generator (wrk) shares the cores.",
        f"- {versions()}",
        "- `cloudcx serve --workers 2`, `CLOUDCX_ENVIRONMENT=production`, the embedded SQLite",
        "  default unless PostgreSQL is named; API rate limit raised so the load is not refused",
        "  (it is still counted on every request).",
        "- wrk: 2 threads, 32 keep-alive connections, 2 s warm-up, 10 s measured.",
        f"- The run took {f.minutes:.1f} minutes.",
        "",
        "## Side by side with the peers",
        "",
    ]
    if f.peers:
        out += [
            "The peers' own script (`shared/peers/bench.sh`), CloudCX as its `ext` peer on SQLite;",
            "each server alone on the machine in turn; medians over the repetitions.",
            "",
        ]
    else:
        out += [
            "The peers are not set up on this machine (`bash ../shared/peers/setup_all.sh`):",
            "CloudCX alone.",
            "",
        ]
    out += shared_table(f)
    pw = (
        f.peers.results.get(("ext", "password_grant"))
        if f.peers
        else f.sqlite.get("password_grant")
    )
    out += [
        "",
        "## Password grant and the argon2id limit",
        "",
        f"One argon2id verification at the configured cost takes {ms:.1f} ms here, so "
        f"{os.cpu_count()} cores verify at most {limit:.0f} passwords a second. With every",
        f"core verifying at once and nothing else running they verified {together:.0f} a second",
        f"({100 * together / limit:.0f}% of that limit: the cores share caches and memory",
        "bandwidth).",
    ]
    if pw:
        out.append(
            f"The password grant ran at {pw.rps:.0f}/s: {100 * pw.rps / limit:.0f}% of that limit, "
            f"{100 * pw.rps / together:.0f}% of what the cores verify together."
        )
    out += ["", "## CloudCX's own cases", "", *own_table(f)]
    if f.memory:
        out += ["", "## Memory under a mixed load", "", *memory_lines(f.memory)]
    if f.webhooks:
        out += ["", "## Webhook delivery", "", *webhook_lines(f.webhooks)]
    if f.peers:
        out += ["", "## The peers' script's own summary", "", "```", f.peers.summary, "```"]
    if NOTES.exists():
        out += ["", NOTES.read_text().strip()]
    return "\n".join(out) + "\n"
