"""Security headers on every response (DESIGN.md §6: the consent page cannot be framed)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere in the Control Panel.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def csp_allowing_form_target(origin: str) -> str:
    """The strict policy, also letting a form's redirect reach ``origin``.

    Browsers apply ``form-action`` to the redirects that follow a form
    submission too, so the consent form (which answers with a redirect to the
    client's registered redirect URI) needs that one origin allowed.
    """
    return STRICT_CSP.replace("form-action 'self'", f"form-action 'self' {origin}")


# The interactive API docs run Swagger UI, which needs an inline bootstrap script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# ``request.state`` key: headers a handler wants on its answer whatever it turns
# out to be, an error page included (the API's ``RateLimit-*``).
EXTRA_HEADERS = "response_headers"


_ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Adds each header unless the handler set its own.

    It works on the raw header list: on every response of the API, Starlette's
    ``MutableHeaders`` (a scan of the list per header) cost more than the
    handler of ``/api/v1/me``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else STRICT_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Read now, not before the call: the scheme a trusted proxy
                # forwarded is known only once the tenant middleware has run.
                state = scope.get("state", {})
                raw = list(message.get("headers", ()))
                present = {name.lower() for name, _value in raw}
                wanted = [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in state.get(EXTRA_HEADERS, {}).items()
                ]
                wanted.append((b"content-security-policy", csp.encode()))
                wanted.extend(_ALWAYS)
                if state.get("scheme", scope.get("scheme")) == "https":
                    wanted.append(_HSTS)
                # Pages carry CSRF tokens and personal data: never kept by a cache.
                if any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in raw
                ):
                    wanted.append(_NO_STORE)
                for name, value in wanted:
                    if name not in present:
                        raw.append((name, value))
                        present.add(name)
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)
