"""docs/deploy.md shows the deployment files as they are, and the README leads to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"


def test_the_systemd_unit_shown_is_deploy_cloudcx_service() -> None:
    shown = re.findall(r"^```ini\n(.*?)^```", DOC.read_text(), re.M | re.S)
    assert shown == [(ROOT / "deploy" / "cloudcx.service").read_text()]


@pytest.mark.parametrize(
    "heading",
    [
        "Architecture",
        "Settings",
        "The app processes: systemd",
        "nginx",
        "Sizing",
        "Backup and restore",
        "Signing key rotation",
        "Upgrading",
        "Metrics",
    ],
)
def test_the_guide_has_the_section(heading: str) -> None:
    assert re.search(rf"^## {re.escape(heading)}$", DOC.read_text(), re.M)


def test_the_files_the_guide_names_exist() -> None:
    named = set(re.findall(r"`((?:deploy|requirements|tests)/[\w./-]+)`", DOC.read_text()))
    assert named, "the guide names no file"
    assert sorted(n for n in named if not (ROOT / n).exists()) == []


def test_the_readme_links_the_guide() -> None:
    assert "(docs/deploy.md)" in (ROOT / "README.md").read_text()
