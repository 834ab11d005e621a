"""The lock files pin everything pyproject.toml asks for, so they cannot silently go stale.

Production installs ``requirements/runtime.txt`` and CI ``requirements/dev.txt``
with ``pip install --require-hashes``; the quick start resolves pyproject.toml.
A dependency added to pyproject.toml but not to the locks (``make lock``), or a
specifier tightened past a pin, would make the two installs differ: these tests
fail instead. Markers are evaluated for the locks' target, CPython 3.11 on Linux
x86_64.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
RUNTIME_IN = ROOT / "requirements" / "runtime.in"

TARGET: dict[str, str] = {
    **{k: str(v) for k, v in default_environment().items()},
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


@dataclass
class Pin:
    version: Version
    hashes: list[str] = field(default_factory=list)


def parse_lock(text: str) -> dict[str, Pin]:
    """``name==version`` entries with their ``--hash`` options; anything else is an error."""
    pins: dict[str, Pin] = {}
    logical = re.sub(r"\\\n", " ", text)
    for raw in logical.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            raise ValueError(f"not an exact pin: {line!r}")
        name = canonicalize_name(match["name"])
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        pins[name] = Pin(Version(match["version"]), hashes)
    return pins


def needed(requirements: list[str]) -> list[Requirement]:
    """The requirements that apply on the target, with each extra's own requirements."""
    found: list[Requirement] = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate(TARGET | {"extra": ""}):
            continue
        found.append(req)
        for extra in sorted(req.extras):
            for inner in metadata.requires(req.name) or []:
                sub = Requirement(inner)
                if sub.marker is not None and sub.marker.evaluate(TARGET | {"extra": extra}):
                    sub.marker = None
                    found.append(sub)
    return found


def problems(requirements: list[Requirement], pins: dict[str, Pin]) -> list[str]:
    """Why ``pins`` do not satisfy ``requirements``; empty when they do."""
    found = []
    for req in requirements:
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            found.append(f"{req.name} is not pinned")
        elif not req.specifier.contains(pin.version, prereleases=True):
            found.append(f"{req.name}=={pin.version} does not satisfy {req}")
    found += [f"{name} has no sha256 hash" for name, pin in pins.items() if not pin.hashes]
    return found


def pyproject() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra_inputs = [
        line.split("#", 1)[0].strip()
        for line in RUNTIME_IN.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    runtime = list(project["dependencies"]) + extra_inputs
    return {"runtime": runtime, "dev": runtime + list(project["optional-dependencies"]["dev"])}


@pytest.mark.parametrize(
    ("lock", "group"), [(RUNTIME_LOCK, "runtime"), (DEV_LOCK, "dev")], ids=["runtime", "dev"]
)
def test_the_lock_pins_every_dependency_of_pyproject(lock: Path, group: str) -> None:
    pins = parse_lock(lock.read_text())
    assert problems(needed(pyproject()[group]), pins) == []


def test_the_dev_lock_installs_the_runtime_lock_unchanged() -> None:
    runtime = parse_lock(RUNTIME_LOCK.read_text())
    dev = parse_lock(DEV_LOCK.read_text())
    assert {name: dev[name].version for name in runtime if name in dev} == {
        name: pin.version for name, pin in runtime.items()
    }
    assert {name: dev[name].hashes for name in runtime} == {
        name: pin.hashes for name, pin in runtime.items()
    }


def test_the_runtime_lock_holds_no_dev_tool() -> None:
    runtime = parse_lock(RUNTIME_LOCK.read_text())
    dev_only = {canonicalize_name(Requirement(r).name) for r in pyproject()["dev"]} - {
        canonicalize_name(Requirement(r).name) for r in pyproject()["runtime"]
    }
    assert dev_only & runtime.keys() == set()


HASH = "--hash=sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("requirement", "lock", "problem"),
    [
        ("fastapi>=0.115", f"uvicorn==0.30.0 {HASH}", "fastapi is not pinned"),
        ("fastapi>=0.115", f"fastapi==0.110.0 {HASH}", "fastapi==0.110.0 does not satisfy"),
        ("fastapi<1,>=0.115", f"fastapi==1.0.0 {HASH}", "does not satisfy"),
        ("fastapi>=0.115", "fastapi==0.115.0", "fastapi has no sha256 hash"),
    ],
    ids=["missing", "too-old", "past-the-cap", "no-hash"],
)
def test_a_stale_lock_is_reported(requirement: str, lock: str, problem: str) -> None:
    found = problems(needed([requirement]), parse_lock(lock))
    assert len(found) == 1
    assert problem in found[0]


def test_a_requirement_for_another_platform_is_not_asked_of_the_lock() -> None:
    assert needed(['pywin32>=300; sys_platform == "win32"']) == []
    assert [r.name for r in needed(['uvloop>=0.19; sys_platform == "linux"'])] == ["uvloop"]


def test_an_extra_brings_its_own_requirements() -> None:
    names = {canonicalize_name(r.name) for r in needed(["uvicorn[standard]>=0.30"])}
    assert {"uvicorn", "uvloop", "httptools"} <= names


@pytest.mark.parametrize(
    "line", ["fastapi>=0.115", "-e .", "fastapi"], ids=["range", "editable", "bare-name"]
)
def test_a_lock_line_that_is_not_an_exact_pin_is_refused(line: str) -> None:
    with pytest.raises(ValueError, match="not an exact pin"):
        parse_lock(line)
