"""The HTTP server's connection limits (``cloudcx.server``), probed over raw TCP.

A real ``cloudcx serve`` runs with one-second timeouts; each test writes bytes
to a socket and asserts exactly what comes back and when the server hangs up.
"""

from __future__ import annotations

import contextlib
import gc
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from cloudcx import server as http_server
from cloudcx.app import create_app
from cloudcx.config import Settings
from cloudcx.platform import Platform
from tests.live_server import HOST, LiveServer, running

MAX_HEADER_BYTES = 16 * 1024  # the default
TIMEOUT = 1.0  # CLOUDCX_HEADER_TIMEOUT and CLOUDCX_BODY_TIMEOUT below
KEEP_ALIVE = 3.0  # past TIMEOUT + SLACK and short of uvicorn's own 5 s: neither is mistaken for it
# How late a timeout may fire on a shared, loaded machine and still count as on time.
SLACK = 1.5
SHORT_TIMEOUTS = {
    "CLOUDCX_HEADER_TIMEOUT": str(int(TIMEOUT)),
    "CLOUDCX_BODY_TIMEOUT": str(int(TIMEOUT)),
    "CLOUDCX_KEEP_ALIVE_TIMEOUT": str(int(KEEP_ALIVE)),
}
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HEALTHZ_CLOSE = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("server"), settings=SHORT_TIMEOUTS) as live:
        yield live


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=15)


def until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and the seconds that took."""
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


def status_line(response: bytes) -> bytes:
    return response.split(b"\r\n", 1)[0]


def read_response(sock: socket.socket) -> bytes:
    """One response whose body has a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def head_of(size: int) -> bytes:
    """A closing GET /healthz whose request line and headers are exactly ``size`` bytes."""
    start = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def assert_serving(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(HEALTHZ_CLOSE)
        response, _ = until_closed(sock)
    assert status_line(response) == b"HTTP/1.1 200 OK"


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "status"),
    [
        (MAX_HEADER_BYTES, b"HTTP/1.1 200 OK"),
        (MAX_HEADER_BYTES + 1, b"HTTP/1.1 431 Request Header Fields Too Large"),
    ],
    ids=["head-at-the-cap", "head-one-byte-over"],
)
def test_request_head_is_capped(server: LiveServer, size: int, status: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(head_of(size))
        response, _ = until_closed(sock)
    assert status_line(response) == status
    assert_serving(server)


@pytest.mark.slow
@pytest.mark.parametrize("size", [100_000, 20 * 1024 * 1024], ids=["100-kb", "20-mb"])
def test_a_large_head_is_not_read_into_memory(server: LiveServer, size: int) -> None:
    before = rss_kib(server.process.pid)
    with connect(server) as sock:
        answer = b""
        # The server stops reading at the cap and hangs up mid-send.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head_of(size))
        with contextlib.suppress(ConnectionResetError):
            answer, _ = until_closed(sock)
    # 431; or, when the hang-up found bytes still unread, a reset that drops the 431.
    assert answer == b"" or status_line(answer) == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert rss_kib(server.process.pid) - before < 8 * 1024
    assert_serving(server)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"GET /heal",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: val",
    ],
    ids=["nothing-sent", "half-request-line", "headers-unfinished"],
)
def test_a_stalled_head_is_cut_after_the_header_timeout(server: LiveServer, sent: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(sent)
        response, elapsed = until_closed(sock)
    assert response == b""  # closed without an answer: there is no request to answer
    assert TIMEOUT - 0.2 <= elapsed <= TIMEOUT + SLACK


@pytest.mark.slow
def test_a_stalled_second_request_is_cut_after_the_header_timeout(server: LiveServer) -> None:
    """The keep-alive timer stops at a request's first byte; the head deadline starts there."""
    with connect(server) as sock:
        sock.sendall(HEALTHZ)
        assert status_line(read_response(sock)) == b"HTTP/1.1 200 OK"
        sock.sendall(b"GET /heal")
        response, elapsed = until_closed(sock)
    assert response == b""
    assert TIMEOUT - 0.2 <= elapsed <= TIMEOUT + SLACK


def post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.mark.slow
def test_a_stalled_body_is_answered_408_after_the_body_timeout(server: LiveServer) -> None:
    logged = len(server.log())
    with connect(server) as sock:
        sock.sendall(post_head("/oauth/token", 1000) + b"grant_type=password&")
        response, elapsed = until_closed(sock)
    assert status_line(response) == b"HTTP/1.1 408 Request Timeout"
    assert b"connection: close" in response.lower()
    assert TIMEOUT - 0.2 <= elapsed <= TIMEOUT + SLACK
    assert_serving(server)
    # The app is told the client left; that is no server error worth a traceback.
    assert "Traceback" not in server.log()[logged:]


@pytest.mark.slow
def test_a_trickled_body_is_cut_at_the_same_deadline(server: LiveServer) -> None:
    """The deadline is for the whole body: bytes arriving now and then do not extend it."""
    with connect(server) as sock:
        sock.sendall(post_head("/oauth/token", 1000))
        started = time.monotonic()
        sock.setblocking(False)
        response = b""
        while time.monotonic() - started < TIMEOUT + SLACK:
            time.sleep(0.1)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                sock.sendall(b"a")  # read before each byte, so no byte lands after the close
                continue
            if not chunk:
                break
            response += chunk
        elapsed = time.monotonic() - started
    assert status_line(response) == b"HTTP/1.1 408 Request Timeout"
    assert TIMEOUT - 0.2 <= elapsed <= TIMEOUT + SLACK


@pytest.mark.slow
def test_a_body_unread_by_an_answered_request_is_cut_without_a_second_answer(
    server: LiveServer,
) -> None:
    # /healthz does not take POST: the 405 goes out at once, the body never comes.
    with connect(server) as sock:
        sock.sendall(post_head("/healthz", 1000))
        response, elapsed = until_closed(sock)
    assert status_line(response) == b"HTTP/1.1 405 Method Not Allowed"
    assert b"408" not in response
    assert TIMEOUT - 0.2 <= elapsed <= TIMEOUT + SLACK  # the body deadline, not keep-alive


@pytest.mark.slow
def test_200_half_sent_requests_are_all_closed(server: LiveServer) -> None:
    socks = [connect(server) for _ in range(200)]
    selector = selectors.DefaultSelector()
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, data=sock)
        open_ = set(socks)
        deadline = time.monotonic() + TIMEOUT + SLACK + 2
        while open_ and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                closed: socket.socket = key.data
                assert closed.recv(65536) == b""
                selector.unregister(closed)
                open_.discard(closed)
        assert len(open_) == 0, f"{len(open_)} of 200 connections still open"
    finally:
        selector.close()
        for sock in socks:
            sock.close()
    assert_serving(server)


@pytest.mark.slow
def test_keep_alive_serves_several_requests_then_closes_when_idle(server: LiveServer) -> None:
    with connect(server) as sock:
        for request in range(3):
            if request:
                time.sleep(TIMEOUT + 0.2)  # idle past the header timeout: still open
            sock.sendall(HEALTHZ)
            response = read_response(sock)
            assert status_line(response) == b"HTTP/1.1 200 OK"
            assert b"\r\nserver:" not in response.lower()
        rest, elapsed = until_closed(sock)
    assert rest == b""
    assert KEEP_ALIVE - 0.3 <= elapsed <= KEEP_ALIVE + SLACK


@pytest.mark.slow
def test_connections_beyond_the_cap_are_answered_503(tmp_path: Path) -> None:
    with running(tmp_path, settings={"CLOUDCX_MAX_CONNECTIONS": "2"}) as live:
        held = [connect(live) for _ in range(2)]
        for sock in held:
            sock.sendall(b"GET /heal")  # open, counted, not yet a request
        with connect(live) as third:
            third.sendall(HEALTHZ_CLOSE)
            response, _ = until_closed(third)
        assert status_line(response) == b"HTTP/1.1 503 Service Unavailable"
        held.pop().close()
        time.sleep(0.2)  # the server sees the close
        assert_serving(live)
        for sock in held:
            sock.close()


@pytest.mark.slow
def test_every_worker_process_enforces_the_limits(tmp_path: Path) -> None:
    settings = {"CLOUDCX_HEADER_TIMEOUT": "1", "CLOUDCX_MAX_HEADER_BYTES": "4096"}
    with running(tmp_path, settings=settings, args=["--workers", "2"]) as live:
        for _ in range(4):  # the kernel spreads connections over both workers
            with connect(live) as sock:
                sock.sendall(b"GET /heal")
                response, elapsed = until_closed(sock)
            assert response == b""
            assert elapsed <= 1 + SLACK
            with connect(live) as sock:
                sock.sendall(head_of(4097))
                response, _ = until_closed(sock)
            assert status_line(response) == b"HTTP/1.1 431 Request Header Fields Too Large"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLOUDCX_MAX_HEADER_BYTES", "512"),
        ("CLOUDCX_MAX_HEADER_BYTES", "2000000"),
        ("CLOUDCX_HEADER_TIMEOUT", "0"),
        ("CLOUDCX_HEADER_TIMEOUT", "soon"),
        ("CLOUDCX_BODY_TIMEOUT", "-1"),
        ("CLOUDCX_KEEP_ALIVE_TIMEOUT", "0"),
        ("CLOUDCX_MAX_CONNECTIONS", "0"),
    ],
    ids=[
        "header-cap-below-1-kib",
        "header-cap-above-1-mib",
        "header-timeout-zero",
        "header-timeout-not-a-number",
        "body-timeout-negative",
        "keep-alive-zero",
        "no-connections",
    ],
)
def test_bad_limits_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    field = variable.removeprefix("CLOUDCX_").lower()
    with pytest.raises(ValidationError, match=field):
        Settings(_env_file=None)


def test_default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_HEADER_BYTES", "HEADER_TIMEOUT", "BODY_TIMEOUT", "KEEP_ALIVE_TIMEOUT"):
        monkeypatch.delenv(f"CLOUDCX_{name}", raising=False)
    monkeypatch.delenv("CLOUDCX_MAX_CONNECTIONS", raising=False)
    settings = Settings(_env_file=None)
    assert (
        settings.max_header_bytes,
        settings.header_timeout,
        settings.body_timeout,
        settings.keep_alive_timeout,
        settings.max_connections,
    ) == (16 * 1024, 10, 30, 5, 1000)


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_a_response_head_leaves_with_its_first_body_bytes() -> None:
    from cloudcx.server import _HeadWithBody

    sent = _Recorder()
    transport = _HeadWithBody(sent)  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert sent.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]  # interim answers go at once
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
    assert len(sent.writes) == 1  # the head waits for the body
    transport.write(b"body")
    transport.write(b"more")
    assert sent.writes[1:] == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody", b"more"]
    assert transport.is_closing() is False  # everything else is the transport's


def test_a_head_without_body_is_sent_when_the_connection_closes() -> None:
    from cloudcx.server import _HeadWithBody

    sent = _Recorder()
    transport = _HeadWithBody(sent)  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    transport.close()
    assert sent.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    assert sent.closed


async def test_served_app_freezes_what_startup_left_alive(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker of ``serve`` starts, then moves what is alive out of the collector's
    reach; the app ``create_app`` builds (as the tests use it) does not."""
    monkeypatch.setattr(http_server, "create_app", lambda: create_app(platform=platform))
    gc.unfreeze()
    plain = create_app(platform=platform)
    async with plain.router.lifespan_context(plain):
        assert gc.get_freeze_count() == 0
    served = http_server.serving_app()
    try:
        async with served.router.lifespan_context(served):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
