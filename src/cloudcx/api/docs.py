"""``/docs``: Swagger UI served from this server's own static files.

The platform must work without Internet access, so the Swagger UI assets are
vendored under ``static/swagger-ui`` instead of loaded from a CDN. The
**Authorize** dialog runs the password flow against ``/oauth/token``; Swagger
UI sends the Client ID in an HTTP Basic header with an empty secret (or in
the body), both of which the token endpoint accepts for a public client.

Beside it, the Postman collection and environment (``api.postman``), made
from the same OpenAPI document with this tenant's URL filled in, at stable
addresses that Postman's Import > Link can read.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

from cloudcx.api import postman
from cloudcx.deps import IssuerDep

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


# Postman fetches the document on Import > Link; browsers and proxies may keep
# it a few minutes and then revalidate it by its ETag (RFC 9111 §4.3).
POSTMAN_CACHE = "public, max-age=300"


@lru_cache(maxsize=32)
def _rendered(app: FastAPI, kind: str, base_url: str) -> tuple[bytes, str]:
    """A document and its ETag, made once per base URL: the OpenAPI document does
    not change while the process runs, and making the collection takes milliseconds."""
    if kind == "collection":
        document = postman.collection(app.openapi(), base_url)
    else:
        document = postman.environment(base_url)
    body = postman.dumps(document)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _download(request: Request, kind: str, base_url: str, filename: str) -> Response:
    body, tag = _rendered(request.app, kind, base_url)
    headers = {"ETag": tag, "Cache-Control": POSTMAN_CACHE}
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type="application/json", headers=headers)


@router.get(postman.COLLECTION_PATH)
async def postman_collection(request: Request, issuer: IssuerDep) -> Response:
    """The API as a Postman collection, with this tenant's URL as ``base_url``."""
    return _download(request, "collection", issuer, postman.COLLECTION_FILE)


@router.get(postman.ENVIRONMENT_PATH)
async def postman_environment(request: Request, issuer: IssuerDep) -> Response:
    """The environment to import with it: ``base_url`` filled in, four values to set."""
    return _download(request, "environment", issuer, postman.ENVIRONMENT_FILE)
