"""The guide end to end in a real browser: a client made in the Control Panel, then
``/docs`` Authorize with the password flow, then an API call from Swagger UI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "docs-browser-password-1"
LIST_OP = "#operations-Tickets-list_tickets_api_v1_tickets_get"


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CLOUDCX_REQUIRE_BROWSER"):
        pytest.fail("CLOUDCX_REQUIRE_BROWSER is set but no chromium is installed")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``cloudcx serve`` on the embedded SQLite default, in its own directory."""
    var = Path(tmp_path_factory.mktemp("live"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDCX_") or "TEST" in k}
    env |= {
        "CLOUDCX_VAR_DIR": str(var),
        "CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CLOUDCX_SECRET_KEY": "live-server-secret-key-0123456789abcdef",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudcx", "serve", "--port", str(port)],
        env=env,
        cwd=var,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_docs_authorize_with_a_control_panel_client(live_server: str) -> None:
    executable = _chromium()
    if executable is None:
        pytest.skip("chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"{live_server}/login")
        await page.fill("#email", ADMIN_EMAIL)
        await page.fill("#password", ADMIN_PASSWORD)
        await page.click("button[type=submit]")
        await page.goto(f"{live_server}/settings/security/oauth-clients/new")
        await page.fill("#client_name", "Swagger")
        await page.click("button.primary")
        await page.click("summary[aria-label='Action for Swagger']")
        await page.click("text=Edit")
        client_id = await page.input_value("#client_id")

        await page.goto(f"{live_server}/docs")
        await page.click(".btn.authorize", timeout=15000)
        await page.fill("#oauth_username", ADMIN_EMAIL)
        await page.fill("#oauth_password", ADMIN_PASSWORD)
        await page.fill("#client_id_password", client_id)
        await page.click(".auth-btn-wrapper .authorize")
        await page.wait_for_selector("text=Authorized")
        await page.click(".btn-done")
        await page.click(f"{LIST_OP} .opblock-summary")
        await page.click(f"{LIST_OP} .try-out__btn")
        await page.click(f"{LIST_OP} .execute")
        status = page.locator(f"{LIST_OP} .live-responses-table tbody .response-col_status")
        assert (await status.inner_text()).strip() == "200"
        await browser.close()


async def test_docs_link_the_postman_collection_and_environment(live_server: str) -> None:
    executable = _chromium()
    if executable is None:
        pytest.skip("chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"{live_server}/docs")
        for text, path in (
            ("collection", "/api/v1/postman.json"),
            ("environment", "/api/v1/postman_environment.json"),
        ):
            link = page.locator(".info a", has_text=text).first
            await link.wait_for(timeout=15000)
            assert await link.get_attribute("href") == path
            response = await page.request.get(live_server + path)
            assert response.ok
            document = await response.json()
            assert live_server in str(document), "the server's own address is filled in"
        await browser.close()
