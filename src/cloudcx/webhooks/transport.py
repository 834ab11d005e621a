"""The HTTP client of deliveries, with the SSRF defence where the socket is opened.

A URL checked when it is saved proves nothing about the address a later
request reaches: the name may resolve elsewhere by then (DNS rebinding), or
the answer may redirect. So the check is made in the network backend, on the
very address the connection is opened to: the name is resolved there, every
address refused unless public (or in ``CLOUDCX_WEBHOOK_ALLOWED_NETWORKS``),
and the socket is connected to the checked IP. TLS still verifies the
certificate for the URL's host name (httpcore sends it as SNI), and the
``Host`` header is the URL's. Redirects are never followed, and no proxy from
the environment is used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

BODY_LIMIT = 2048  # the part of an answer that is kept in the delivery log
USER_AGENT = "CloudCX-Webhooks/1"


class BlockedAddress(httpcore.ConnectError):
    """The host resolves to no address deliveries may reach."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses a delivery may connect to."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    loopback_only: bool = False  # the policy of http:// URLs (development)

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self.loopback_only:
            return address.is_loopback
        if any(address in net for net in self.allowed_networks):
            return True
        # is_global excludes private, loopback, link-local (169.254.169.254, the
        # clouds' metadata service), shared (100.64/10), reserved and unspecified.
        return address.is_global and not address.is_multicast

    def why_not(self, address: IPAddress) -> str:
        return f"address {address} is not allowed for webhooks (not a public address)"


def literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked IP address itself."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        found = literal(host)
        try:
            names = [str(found)] if found else await self.resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in names]
        allowed = [a for a in addresses if self.policy.allows(a)]
        if not allowed:
            reason = self.policy.why_not(addresses[0]) if addresses else "no address"
            raise BlockedAddress(f"refused {host}: {reason}")
        last: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not used for webhooks")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: GuardedBackend, max_connections: int) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend argument; its pool is replaced by one
        # that has ours, with the same TLS defaults (certificates verified).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=backend,
        )


def client(
    policy: AddressPolicy,
    timeout: float,
    max_connections: int = 100,
    resolver: Resolver = system_resolver,
) -> httpx.AsyncClient:
    transport = GuardedTransport(GuardedBackend(policy, resolver), max_connections)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


@dataclass(slots=True)
class Answer:
    status: int | None
    body: str
    error: str | None
    duration_ms: int

    @property
    def success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def post(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], body: str, seconds: float
) -> Answer:
    """POST ``body``; the status, the first 2 KiB of the answer, or the error."""
    started = time.monotonic()
    status: int | None = None
    kept = b""
    error: str | None = None
    try:
        async with asyncio.timeout(seconds):
            request_headers = {**headers, "content-type": "application/json"}
            async with http.stream("POST", url, content=body, headers=request_headers) as r:
                status = r.status_code
                async for chunk in r.aiter_raw():
                    kept += chunk
                    if len(kept) >= BODY_LIMIT:
                        break
    except TimeoutError:
        error = f"no answer within {seconds:g} s"
    except httpx.HTTPError as exc:
        error = _describe(exc)
    if status is not None and 300 <= status < 400 and error is None:
        error = "redirects are not followed"
    elapsed = int((time.monotonic() - started) * 1000)
    text = kept[:BODY_LIMIT].decode("utf-8", "replace")
    return Answer(status, text, error[:500] if error else None, elapsed)


def _describe(exc: httpx.HTTPError) -> str:
    name = type(exc).__name__
    return f"{name}: {exc}" if str(exc) else name
