"""Node.js programs the client-library tests run, from their pinned npm packages.

Each lives in a folder of ``tests/integrations`` with its ``package.json`` and
``package-lock.json`` (``npm ci --prefix tests/integrations/<folder>``). Without
Node.js or the installed package a test skips and says how to install it; with
``CLOUDCX_REQUIRE_NODE=1`` (as in CI) it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

HERE = Path(__file__).resolve().parent


def install_command(folder: Path) -> str:
    return f"npm ci --prefix {folder.relative_to(HERE.parents[1])}"


def unavailable(problem: str) -> NoReturn:
    """Skip, or fail when CI requires Node.js."""
    if os.environ.get("CLOUDCX_REQUIRE_NODE") == "1":
        pytest.fail(f"CLOUDCX_REQUIRE_NODE=1 but {problem}")
    pytest.skip(problem)


def node_package(folder: Path, package: str) -> Path:
    """``folder``'s installed ``package``, or skip (fail in CI) when it cannot run."""
    install = install_command(folder)
    if shutil.which("node") is None:
        unavailable(f"Node.js is not installed; this test runs {package} ({install})")
    installed = folder / "node_modules" / package
    if not installed.exists():
        unavailable(f"{package} is not installed: run `{install}` (Node.js 20 or newer)")
    return installed


def node_environment() -> dict[str, str]:
    """The test's environment without proxy settings: Node talks to 127.0.0.1 directly."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
