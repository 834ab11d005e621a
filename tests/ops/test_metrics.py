"""``/metrics``: who may read it, and what the platform counts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError

from cloudcx.accounts.models import User
from cloudcx.config import Settings
from cloudcx.oauth.models import OAuthClient
from cloudcx.ops import metrics, observe_feed_lag
from cloudcx.platform import Platform
from cloudcx.security.throttle import AccountLocked, TooManyAttempts
from cloudcx.tenancy.service import TenantInfo
from tests import helpers
from tests.cxapi import tiny_rate_limit  # noqa: F401 - a fixture

LOOPBACK = ("127.0.0.1", 40000)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest_asyncio.fixture
async def scraper(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A Prometheus on the machine itself, asking for http://127.0.0.1/metrics."""
    transport = httpx.ASGITransport(app=app, client=LOOPBACK)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def scrape(client: httpx.AsyncClient, **kwargs: object) -> httpx.Response:
    return await client.get("/metrics", **kwargs)  # type: ignore[arg-type]


async def test_loopback_reads_the_prometheus_text_format(
    scraper: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    response = await scrape(scraper)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    for family in (
        "cloudcx_http_request_duration_seconds histogram",
        "cloudcx_change_feed_lag_seconds histogram",
        "cloudcx_db_pool_checked_out gauge",
    ):
        assert f"# TYPE {family}\n" in response.text
    assert "_created" not in response.text  # half the series, and Prometheus needs none


async def test_no_tenant_is_needed(scraper: httpx.AsyncClient) -> None:
    """With no tenant at all (a fresh database), metrics still answer."""
    assert (await scrape(scraper)).status_code == 200


@pytest.mark.parametrize(
    ("peer", "host", "headers", "trusted"),
    [
        ("203.0.113.7", "127.0.0.1", {}, ""),
        ("10.1.2.3", "127.0.0.1", {}, ""),
        ("127.0.0.1", "127.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, ""),
        ("127.0.0.1", "127.0.0.1", {"Forwarded": "for=127.0.0.1"}, ""),
        ("127.0.0.1", "127.0.0.1", {"X-Real-IP": "127.0.0.1"}, ""),
        ("127.0.0.1", "127.0.0.1", {}, "127.0.0.1"),
        ("127.0.0.1", "globex.example", {}, ""),
        ("127.0.0.1", "globex.example:8000", {}, ""),
    ],
    ids=[
        "public-peer",
        "private-peer-not-allowed",
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "peer-is-a-trusted-proxy",
        "tenant-host",
        "tenant-host-with-port",
    ],
)
async def test_anyone_else_is_answered_404(
    app: FastAPI,
    platform: Platform,
    other_tenant: TenantInfo,
    monkeypatch: pytest.MonkeyPatch,
    peer: str,
    host: str,
    headers: dict[str, str],
    trusted: str,
) -> None:
    monkeypatch.setattr(platform.settings, "trusted_proxies", trusted)
    transport = httpx.ASGITransport(app=app, client=(peer, 1234))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert "cloudcx_" not in response.text


@pytest.mark.parametrize(
    ("allow", "peer", "status"),
    [
        ("10.0.0.0/8", "10.1.2.3", 200),
        ("10.0.0.0/8", "127.0.0.1", 404),
        ("10.0.0.0/8, ::1", "::1", 200),
        ("127.0.0.1", "::ffff:127.0.0.1", 200),
        ("", "127.0.0.1", 404),
    ],
    ids=["cidr", "loopback-left-out", "ipv6", "ipv4-mapped", "nobody"],
)
async def test_metrics_allow_takes_addresses_and_networks(
    app: FastAPI,
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
    allow: str,
    peer: str,
    status: int,
) -> None:
    networks = Settings(metrics_allow=allow).metrics_networks
    monkeypatch.setitem(platform.settings.__dict__, "metrics_networks", networks)
    transport = httpx.ASGITransport(app=app, client=(peer, 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (await client.get("/metrics")).status_code == status


def test_metrics_allow_refuses_what_is_not_an_address() -> None:
    with pytest.raises(ValidationError, match="CLOUDCX_METRICS_ALLOW"):
        Settings(metrics_allow="127.0.0.1, localhost")


async def test_requests_are_counted_by_route_template_never_raw_path(
    app: FastAPI, http: httpx.AsyncClient, scraper: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    ticket = uuid.uuid4()
    labels = {"method": "GET", "route": "/api/v1/tickets/{ticket_id}", "status": "401"}
    before = value("cloudcx_http_request_duration_seconds_count", **labels)
    assert (await http.get(f"/api/v1/tickets/{ticket}")).status_code == 401
    assert (await http.get("/no/such/page-7f3a")).status_code == 404
    app.state.finished_requests.flush()  # observed in batches, as the access lines
    assert value("cloudcx_http_request_duration_seconds_count", **labels) == before + 1
    page = (await scrape(scraper)).text
    assert str(ticket) not in page
    assert "page-7f3a" not in page
    assert 'route="unmatched",status="404"' in page


async def test_made_up_methods_share_one_label(
    app: FastAPI, http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    labels = {"method": "other", "route": "/api/v1/me", "status": "405"}
    before = value("cloudcx_http_request_duration_seconds_count", **labels)
    assert (await http.request("BREW", "/api/v1/me")).status_code == 405
    app.state.finished_requests.flush()
    assert value("cloudcx_http_request_duration_seconds_count", **labels) == before + 1


async def test_tokens_issued_and_refused_by_grant_and_reason(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    issued = ("cloudcx_oauth_tokens_issued_total", {"grant_type": "password"})
    wrong = (
        "cloudcx_oauth_tokens_refused_total",
        {"grant_type": "password", "reason": "invalid_grant"},
    )
    made_up = (
        "cloudcx_oauth_tokens_refused_total",
        {"grant_type": "other", "reason": "unsupported_grant_type"},
    )
    before = [value(name, **labels) for name, labels in (issued, wrong, made_up)]
    await helpers.password_token(http, oauth_client.client_id, admin.email)
    form = helpers.password_form(client_id=oauth_client.client_id, password="wrong-Passw0rd-x")
    assert (await http.post("/oauth/token", data=form)).status_code == 400
    form = helpers.password_form(client_id=oauth_client.client_id, grant_type="urn:x:made-up")
    assert (await http.post("/oauth/token", data=form)).status_code == 400
    after = [value(name, **labels) for name, labels in (issued, wrong, made_up)]
    assert after == [b + 1 for b in before]


async def test_revocations_by_kind(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    token = await helpers.password_token(http, oauth_client.client_id, admin.email)
    before = value("cloudcx_oauth_revocations_total", kind="token")
    data = {"token": token["access_token"], "client_id": oauth_client.client_id}
    assert (await http.post("/oauth/revoke", data=data)).status_code == 200
    assert value("cloudcx_oauth_revocations_total", kind="token") == before + 1


async def test_api_rate_limit_refusals(
    http: httpx.AsyncClient,
    oauth_client: OAuthClient,
    admin: User,
    tiny_rate_limit: object,  # noqa: F811
) -> None:
    token = await helpers.password_token(http, oauth_client.client_id, admin.email)
    before = value("cloudcx_throttle_refusals_total", limiter="api", scope="caller")
    statuses = [
        (
            await http.get("/api/v1/tickets", headers=helpers.bearer(token["access_token"]))
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert value("cloudcx_throttle_refusals_total", limiter="api", scope="caller") == before + 1


@pytest.mark.parametrize(
    ("refusal", "scope", "status"),
    [
        (TooManyAttempts(5, "ip"), "ip", 429),
        (TooManyAttempts(5, "backoff"), "backoff", 429),
        (AccountLocked(), "account", 400),
    ],
    ids=["ip", "backoff", "account-locked"],
)
async def test_sign_in_throttle_refusals(
    http: httpx.AsyncClient,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
    monkeypatch: pytest.MonkeyPatch,
    refusal: Exception,
    scope: str,
    status: int,
) -> None:
    async def refuse(*_args: object) -> int:
        raise refusal

    monkeypatch.setattr(platform.throttle, "check", refuse)
    before = value("cloudcx_throttle_refusals_total", limiter="signin", scope=scope)
    form = helpers.password_form(client_id=oauth_client.client_id, email=admin.email)
    assert (await http.post("/oauth/token", data=form)).status_code == status
    assert value("cloudcx_throttle_refusals_total", limiter="signin", scope=scope) == before + 1


async def test_cache_hits_and_misses_are_sampled(
    app: FastAPI, http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    sampler: metrics.Sampler = app.state.sampler
    sampler.sample()
    hits = value("cloudcx_cache_hits_total", cache="tenants")
    misses = value("cloudcx_cache_misses_total", cache="tenants")
    for _ in range(3):
        await http.get("/api/v1/me")
    sampler.sample()
    assert value("cloudcx_cache_misses_total", cache="tenants") == misses + 1
    assert value("cloudcx_cache_hits_total", cache="tenants") == hits + 2


async def test_pool_checked_out_connections(app: FastAPI, platform: Platform) -> None:
    sampler: metrics.Sampler = app.state.sampler
    sampler.sample()
    idle = value("cloudcx_db_pool_checked_out")
    async with platform.engine.connect():
        sampler.sample()
        assert value("cloudcx_db_pool_checked_out") == idle + 1
    sampler.sample()
    assert value("cloudcx_db_pool_checked_out") == idle


def test_observe_feed_lag() -> None:
    count = value("cloudcx_change_feed_lag_seconds_count")
    total = value("cloudcx_change_feed_lag_seconds_sum")
    fastest = value("cloudcx_change_feed_lag_seconds_bucket", le="0.005")
    observe_feed_lag(0.04)
    observe_feed_lag(-0.01)  # clocks of two machines disagree: counted as no delay
    assert value("cloudcx_change_feed_lag_seconds_count") == count + 2
    assert value("cloudcx_change_feed_lag_seconds_sum") == pytest.approx(total + 0.04)
    assert value("cloudcx_change_feed_lag_seconds_bucket", le="0.005") == fastest + 1


async def test_a_scrape_includes_requests_finished_a_moment_ago(
    http: httpx.AsyncClient, scraper: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Latencies are observed in batches; a scrape does not wait for the next one."""
    monkeypatch.setattr("cloudcx.ops.requests.FLUSH_DELAY", 3600.0)
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    await scrape(scraper)
    before = value("cloudcx_http_request_duration_seconds_count", **labels)
    await http.get("/healthz")
    assert value("cloudcx_http_request_duration_seconds_count", **labels) == before
    await scrape(scraper)
    assert value("cloudcx_http_request_duration_seconds_count", **labels) == before + 1
