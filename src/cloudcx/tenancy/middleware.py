"""Pure-ASGI middleware that resolves the request's origin and tenant.

It runs before routing so every handler can rely on ``request.state.tenant``.
Forwarded headers are believed only from ``CLOUDCX_TRUSTED_PROXIES``; anyone
else could otherwise choose their own tenant or client address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from cloudcx.tenancy.service import TenantDirectory

if TYPE_CHECKING:
    from cloudcx.config import Settings

# Paths served without a tenant (health and readiness probes, metrics, static assets).
TENANTLESS_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/")


class TenantMiddleware:
    def __init__(self, app: ASGIApp, directory: TenantDirectory, settings: Settings) -> None:
        self.app = app
        self.directory = directory
        self.trusted = settings.trusted_proxy_set

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, host, client_ip = self._origin(scope, headers)
        state = scope.setdefault("state", {})
        state["scheme"], state["host"], state["client_ip"] = scheme, host, client_ip
        state["base_url"] = f"{scheme}://{host}"
        if scope["path"].startswith(TENANTLESS_PREFIXES):
            state["tenant"] = None
            await self.app(scope, receive, send)
            return
        tenant = await self.directory.by_host(host) if host else None
        if tenant is None:
            await _not_found(send)
            return
        state["tenant"] = tenant
        await self.app(scope, receive, send)

    def _origin(self, scope: Scope, headers: Headers) -> tuple[str, str, str]:
        client = scope.get("client")
        peer = client[0] if client else ""
        scheme = str(scope.get("scheme", "http"))
        host = headers.get("host", "")
        if peer in self.trusted:
            # The nearest untrusted address in X-Forwarded-For is the client.
            hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
            while hops and hops[-1] in self.trusted:
                hops.pop()
            peer = hops[-1] if hops else peer
            scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
            host = headers.get("x-forwarded-host", host).split(",")[0].strip() or host
        if scheme not in ("http", "https"):
            scheme = "http"
        return scheme, host.lower(), peer


async def _not_found(send: Send) -> None:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "No tenant is served at this host.",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
