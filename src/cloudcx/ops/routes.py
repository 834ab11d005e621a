"""``/healthz``, ``/readyz`` and ``/metrics``: served without a tenant.

``/metrics`` says how busy the platform is and which clients fail, so it is
answered only to the addresses of ``CLOUDCX_METRICS_ALLOW`` (loopback by
default), judged on the connection's own peer address, never on a forwarded
header: a request that came through a proxy (from a trusted proxy, or with
any forwarding header) or that names a tenant's host is answered 404, as if
there were no such page. A reverse proxy on the same machine forwards
public requests from 127.0.0.1, and must not make them look local.
"""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.core.responses import OrjsonResponse
from cloudcx.ops import metrics
from cloudcx.ops.health import Readiness
from cloudcx.platform import Platform
from cloudcx.tenancy.service import host_without_port

router = APIRouter(include_in_schema=False)

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")
# The names a scraper on the machine itself uses; the default tenant answers
# at these too (DESIGN.md §2), but they are not a tenant's public host.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> Response:
    """Liveness: the process answers. Nothing else is checked (ops.health)."""
    return OrjsonResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    checks = await readiness.check()
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return OrjsonResponse(body, status_code=200 if ready else 503, headers=NO_STORE)


@router.get("/metrics")
async def metrics_page(request: Request) -> Response:
    if not await _may_scrape(request):
        return OrjsonResponse(
            {"type": "about:blank", "title": "Not Found", "status": 404},
            status_code=404,
            media_type="application/problem+json",
        )
    request.app.state.finished_requests.flush()
    request.app.state.sampler.sample()
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE, headers=NO_STORE)


async def _may_scrape(request: Request) -> bool:
    platform: Platform = request.app.state.platform
    peer = request.scope.get("client")
    if not peer or peer[0] in platform.settings.trusted_proxy_set:
        return False
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not any(address in network for network in platform.settings.metrics_networks):
        return False
    host = host_without_port(request.headers.get("host", ""))
    if host in LOCAL_HOSTS:
        return True
    try:
        return await platform.tenants.by_host(host) is None
    except Exception:  # database down: the peer is allowed, and metrics matter most now
        return True
