"""Security headers on every response (DESIGN.md §6: the consent page cannot be framed)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
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


class SecurityHeadersMiddleware:
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
                https = state.get("scheme", scope.get("scheme")) == "https"
                headers = MutableHeaders(scope=message)
                for name, value in state.get(EXTRA_HEADERS, {}).items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                # Pages carry CSRF tokens and personal data: never kept by a cache.
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
