"""``make screenshots``: each main page of the Control Panel at 1280 and 390 px, as PNG files.

Not a test of the suite (pytest collects only ``test_*.py``); ``make screenshots``
names this file. It starts the layout checks' demo site and writes
``test-artifacts/screenshots/<page>-<width>.png`` (``test-artifacts/`` is
ignored by git), replacing an earlier run's files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.layout.site import DESKTOP, PHONE, Contexts, DemoSite

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SIZES = {"1280": DESKTOP, "390": PHONE}


@pytest.fixture(scope="module")
def folder(request: pytest.FixtureRequest) -> Path:
    target = request.config.rootpath / "test-artifacts" / "screenshots"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    return target


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}px" for w in SIZES])
def test_screenshots(contexts: Contexts, demo_site: DemoSite, folder: Path, size: str) -> None:
    viewport = SIZES[size]
    written: list[Path] = []

    signed_out = contexts.new(viewport).new_page()
    signed_out.goto("/login")
    expect(signed_out.get_by_role("button", name="Sign in")).to_be_visible()
    written.append(folder / f"login-{size}.png")
    signed_out.screenshot(path=str(written[-1]), full_page=True)

    page = contexts.signed_in_page(viewport)
    for name, path in demo_site.pages():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        written.append(folder / f"{name}-{size}.png")
        page.screenshot(path=str(written[-1]), full_page=True)

    for file in written:
        assert file.read_bytes().startswith(b"\x89PNG"), file
    print(f"\n{len(written)} screenshots at {size} px in {folder}")
