"""``/docs``: Swagger UI served from this server's own static files.

The platform must work without Internet access, so the Swagger UI assets are
vendored under ``static/swagger-ui`` instead of loaded from a CDN. The
**Authorize** dialog runs the password flow against ``/oauth/token``; Swagger
UI sends the Client ID in an HTTP Basic header with an empty secret (or in
the body), both of which the token endpoint accepts for a public client.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

ASSETS = "/static/swagger-ui"
REDIRECT = "/docs/oauth2-redirect"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} · interactive documentation",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=REDIRECT,
        init_oauth={"usePkceWithAuthorizationCodeGrant": True, "scopeSeparator": " "},
        swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
    )


@router.get(REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()
