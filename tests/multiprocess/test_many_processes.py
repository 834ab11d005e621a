"""Many processes, one truth: real servers on one PostgreSQL and one Redis.

A token issued by one server works on all; revoked on one, or its client
disabled in one's Control Panel, it is refused by every other within 100 ms
(printed: run with ``-s``); a rate limit is counted across all; the
background jobs run in one process only, and another takes over when it stops.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.html_forms import find_form
from tests.integrations.people import Administrator
from tests.live_server import LiveServer, http_client
from tests.multiprocess.cluster import (
    DEADLINE,
    cluster,
    job_holders,
    needs_postgresql_and_redis,
    password_grant,
    report,
    until_everywhere,
)

pytestmark = needs_postgresql_and_redis
REVOKE_LIMIT = 6


def me(http: httpx.Client, server: LiveServer, token: str) -> int:
    response = http.get(server.url("/api/v1/me"), headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def issued_token(http: httpx.Client, server: LiveServer, client_id: str) -> str:
    response = password_grant(http, server, client_id)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def a_token_works_everywhere_and_its_revocation_reaches_all(
    http: httpx.Client, servers: list[LiveServer], client_id: str
) -> None:
    first, others = servers[0], servers[1:]
    token = issued_token(http, first, client_id)
    assert [me(http, s, token) for s in servers] == [200] * len(servers)

    def revoke() -> None:
        form = {"token": token, "client_id": client_id}
        assert http.post(first.url("/oauth/revoke"), data=form).status_code == 200

    took = until_everywhere(others, revoke, lambda h, s: me(h, s, token) == 401, limit=5.0)
    assert me(http, first, token) == 401
    report(f"token revoked on :{first.port}, refused by", took)
    assert max(took.values()) < DEADLINE


def a_client_disabled_in_the_console_stops_everywhere(
    http: httpx.Client, servers: list[LiveServer], client_id: str
) -> None:
    first, others = servers[0], servers[1:]
    token = issued_token(http, others[-1], client_id)
    for server in others:
        assert password_grant(http, server, client_id).status_code == 200
    admin = Administrator(first, first.admin_email, first.admin_password)
    page = admin.edit_page(client_id)
    form = admin.settings_form(page)
    form.check("Enabled", on=False)

    asked = admin.submit(form, "Save", page)  # disabling asks first; nothing changed yet
    confirmation = find_form(asked.text, button="Disable and save")
    assert confirmation is not None, asked.text[:500]

    def save() -> None:
        saved = admin.submit(confirmation, "Disable and save", asked)
        assert saved.is_redirect, saved.text[:500]

    def refused(h: httpx.Client, server: LiveServer) -> bool:
        response = password_grant(h, server, client_id)
        return response.status_code == 401 and response.json()["error"] == "invalid_client"

    try:
        took = until_everywhere(others, save, refused, limit=5.0)
    finally:
        admin.close()
    report(f"client disabled on :{first.port}, token grant refused by", took)
    assert max(took.values()) < DEADLINE
    assert [me(http, s, token) for s in servers] == [401] * len(servers)


def the_revoke_limit_is_counted_across_all(
    http: httpx.Client, servers: list[LiveServer], client_id: str
) -> None:
    form = {"token": "not-a-token", "client_id": client_id}
    for i in range(REVOKE_LIMIT):
        answer = http.post(servers[i % len(servers)].url("/oauth/revoke"), data=form)
        assert answer.status_code == 200, answer.text
        assert answer.headers["ratelimit-remaining"] == str(REVOKE_LIMIT - i - 1)
    for server in servers:
        refused = http.post(server.url("/oauth/revoke"), data=form)
        assert refused.status_code == 429, f":{server.port} did not count the others' requests"
        assert int(refused.headers["retry-after"]) >= 1


def the_jobs_run_in_one_process_and_move_when_it_stops(servers: list[LiveServer], url: str) -> None:
    names = {f"cloudcx-jobs pid={s.process.pid}": s for s in servers}
    deadline = time.monotonic() + 10
    while not job_holders(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    samples = [job_holders(url) for _ in range(10) if time.sleep(0.1) is None]
    holders = set().union(*samples)
    assert len(holders) == 1, f"jobs locks held by {holders}"
    (leader_name,) = holders
    leader = names[leader_name]
    print(f"\nbackground jobs run by :{leader.port} only ({leader_name})")
    leader.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = job_holders(url)
        if now and now != holders:
            break
        time.sleep(0.1)
    assert len(now) == 1 and now != holders and now <= names.keys(), now
    print(f"after :{leader.port} stopped, jobs run by {now.pop()}")


def prove(servers: list[LiveServer], url: str) -> None:
    clients = [servers[0].create_client(f"App {i}") for i in range(3)]
    with http_client(servers[0].base_url) as http:
        a_token_works_everywhere_and_its_revocation_reaches_all(http, servers, clients[0])
        a_client_disabled_in_the_console_stops_everywhere(http, servers, clients[1])
        the_revoke_limit_is_counted_across_all(http, servers, clients[2])
    the_jobs_run_in_one_process_and_move_when_it_stops(servers, url)
    for server in servers:
        assert "Traceback" not in server.log(), server.log()


def test_two_processes(tmp_path: Path) -> None:
    with cluster(tmp_path, 2, CLOUDCX_REVOKE_RATE_LIMIT=f"{REVOKE_LIMIT}/minute") as (servers, url):
        prove(servers, url)


@pytest.mark.slow
@pytest.mark.skipif(os.cpu_count() == 1, reason="four servers need more than one core")
def test_four_processes(tmp_path: Path) -> None:
    with cluster(tmp_path, 4, CLOUDCX_REVOKE_RATE_LIMIT=f"{REVOKE_LIMIT}/minute") as (servers, url):
        prove(servers, url)
