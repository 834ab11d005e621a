"""Pure-ASGI middleware that resolves the request's origin and tenant.

It runs before routing so every handler can rely on ``request.state.tenant``.
Forwarded headers are believed only from ``CLOUDCX_TRUSTED_PROXIES``; anyone
else could otherwise choose their own tenant or client address.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
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
        scheme, raw_host, client_ip = self._origin(scope, headers)
        host = valid_host(raw_host)
        if host is None:
            await _problem(send, 400, "Bad Request", "The Host header is not a valid host.")
            return
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
        return scheme, host, peer


# RFC 9110 §7.2 / RFC 3986 §3.2.2: a DNS name (an IPv4 address is one in form)
# or a bracketed IPv6 address, then an optional port. Anything else (userinfo,
# a path, spaces) would pick a tenant by one part and be echoed whole into the
# issuer, token ``iss`` and page links.
_HOST = re.compile(
    r"(?P<name>(?=[^:]{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?"
    r"|\[(?P<ipv6>[0-9a-f:.]{2,45})\])"
    r"(?::(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE,
)


@lru_cache(maxsize=1024)
def valid_host(host: str) -> str | None:
    """``host`` in lower case if it is ``host[:port]``, else None; "" (no host) stays "".

    Cached: a deployment sees a handful of host strings, and a flood of odd ones
    only turns the cache over.
    """
    if not host:
        return ""
    match = _HOST.fullmatch(host)
    if match is None:
        return None
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        return None
    if match["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            return None
    return host.lower()


async def _not_found(send: Send) -> None:
    await _problem(send, 404, "Not Found", "No tenant is served at this host.")


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
