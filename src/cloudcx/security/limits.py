"""Request size limits, enforced while the body streams in (never buffered whole first).

- API bodies (``/api/``): ``max_body_bytes`` (1 MiB) and, for JSON, at most
  ``max_json_depth`` levels of nesting — deep nesting costs parsers stack and
  time out of all proportion to its size;
- everything else (Control Panel forms, OAuth endpoints): ``max_form_bytes``;
  the token endpoint reads its own, smaller 16 KiB cap first (``oauth.forms``).

A refusal is raised as an HTTP error from inside ``receive``, so the app's one
handler answers in the request's own format: problem details (RFC 9457) for
machines, an error page for people. 413 is RFC 9110 §15.5.14.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudcx.config import Settings

API_PREFIX = "/api/"
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"The request body is larger than {limit} bytes.")


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """True if arrays/objects nest deeper than ``max_depth`` (brackets in strings ignored)."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    depth = 0
    for match in _JSON_TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.api_max = settings.max_body_bytes
        self.form_max = settings.max_form_bytes
        self.max_depth = settings.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith(API_PREFIX)
        headers = Headers(scope=scope)
        limit = self.api_max if is_api else self.form_max
        check_json = is_api and "json" in headers.get("content-type", "").lower()
        await self.app(scope, self._limited(receive, headers, limit, check_json), send)

    def _limited(self, receive: Receive, headers: Headers, limit: int, check_json: bool) -> Receive:
        declared = headers.get("content-length", "")
        received = bytearray() if check_json else None
        size = 0

        async def limited_receive() -> Message:
            nonlocal size
            if declared and (not declared.isdigit() or int(declared) > limit):
                raise too_large(limit)
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            if received is not None:
                received.extend(chunk)
                if not message.get("more_body") and json_depth_exceeds(
                    bytes(received), self.max_depth
                ):
                    raise HTTPException(
                        422, f"The JSON body nests deeper than {self.max_depth} levels."
                    )
            return message

        return limited_receive
