"""Fixtures of the layout checks and the screenshots: the demo site and its browser contexts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.layout.site import Contexts, DemoSite, started


@pytest.fixture(scope="module")
def demo_site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    with started(browser, tmp_path_factory.mktemp("demo-server")) as site:
        yield site


@pytest.fixture
def contexts(
    request: pytest.FixtureRequest, browser: Browser, demo_site: DemoSite
) -> Iterator[Contexts]:
    opened = Contexts(request, browser, demo_site)
    yield opened
    opened.close()
