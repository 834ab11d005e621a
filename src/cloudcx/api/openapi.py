"""What the OpenAPI document says about errors, shared by every API router."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from cloudcx.api import openapi_docs
from cloudcx.api.auth import SECURITY_SCHEMES
from cloudcx.api.problems import PROBLEM_MEDIA_TYPE


class FieldError(BaseModel):
    field: str = Field(examples=["subject"])
    message: str = Field(examples=["String should have at least 1 character"])
    type: str = Field(examples=["string_too_short"])


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, the body of every API error."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(None, examples=["The ticket does not exist."])
    instance: str | None = Field(None, examples=["/api/v1/tickets/0b6c…"])
    errors: list[FieldError] | None = Field(None, description="Per-field errors (422 only).")


PROBLEM_REF = "#/components/schemas/ProblemDetail"
API_PREFIX = "/api/v1/"
_TEXT = {
    304: "Not modified: the `If-None-Match` ETag is current.",
    401: "Missing, invalid, expired or revoked credentials (RFC 6750 `WWW-Authenticate`).",
    403: "The token lacks the scope (`insufficient_scope`) or the user the role.",
    404: "No such resource in this tenant.",
    409: "Conflict with the current state (e.g. a duplicate contact email).",
    412: "`If-Match` names an older version; GET the resource again.",
    422: "Invalid request, with a per-field `errors` list.",
    429: "Rate limit exceeded; retry after `Retry-After` seconds.",
}
_RATE_HEADERS = {
    "RateLimit-Limit": {
        "description": "Requests allowed per window.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Remaining": {"description": "Requests left.", "schema": {"type": "integer"}},
    "RateLimit-Reset": {
        "description": "Seconds until the window resets.",
        "schema": {"type": "integer"},
    },
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the usual 401/403/422/429 plus ``codes``."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({401, 403, 422, 429, *codes}):
        entry: dict[str, Any] = {"description": _TEXT[code]}
        if code != 304:
            entry["model"] = ProblemDetail
            entry["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
        if code == 429:
            entry["headers"] = {
                **_RATE_HEADERS,
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
            }
        out[code] = entry
    return out


DESCRIPTION = """
The CX platform API. Every path under `/api/v1` acts within the tenant of the host it is
called on.

**Authentication.** Click **Authorize** and use the password flow with your email (as
username), password and the Client ID of an OAuth client from *Global Settings > Security >
OAuth Client* (leave the secret empty). An API key from *Global Settings > Security >
API Key* works too: `Authorization: Bearer cxk_…`. Each operation needs the scope it names.

**Postman.** Import the [collection](/api/v1/postman.json) and its
[environment](/api/v1/postman_environment.json) (*Import > Link*, or download them), set
`email`, `password` and `client_id` in the environment, and send: every operation below with
an example body, the guide's token request, the code flow with PKCE and client credentials.

**Pagination.** Lists take `limit` (1 to 100, default 25) and `cursor`, and answer
`{"data": [...], "next_cursor": ..., "links": {"next": ...}}`; follow `links.next` until
it is null.

**Errors** are RFC 9457 problem details (`application/problem+json`); 422 answers list
each bad field in `errors`.

**Conditional requests.** Reads carry an `ETag`; send it in `If-Match` on PATCH or
DELETE and a concurrent change answers 412 instead of being overwritten.

**Safe retries.** Send `Idempotency-Key` on POST: a retry returns the first answer.

**Rate limits.** `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on every
answer; 429 with `Retry-After` past the limit.
"""

TAGS = [
    {"name": "Me", "description": "Who the credential speaks for."},
    {"name": "Tickets", "description": "Customer requests, numbered per tenant."},
    {"name": "Messages", "description": "A ticket's public replies and internal notes."},
    {"name": "Contacts", "description": "Customers: the requesters of tickets."},
    {"name": "Users", "description": "Agents and administrators."},
    {
        "name": "Webhooks",
        "description": "URLs the platform POSTs ticket and contact events to, signed.",
    },
    {"name": "OAuth 2.0", "description": "Getting access tokens (RFC 6749)."},
]


def _declare_security(schema: dict[str, Any]) -> None:
    """Every API operation takes any of the bearer credentials (DESIGN.md §5)."""
    components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    for scheme in SECURITY_SCHEMES:
        components[scheme.scheme_name] = scheme.model.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    requirement: list[dict[str, list[str]]] = [{s.scheme_name: []} for s in SECURITY_SCHEMES]
    for path, item in schema.get("paths", {}).items():
        if path.startswith(API_PREFIX):
            for op in item.values():
                op["security"] = list(requirement)


def install(app: FastAPI) -> None:
    """Generate the document once, with error bodies only as ``application/problem+json``.

    FastAPI also lists a response model under ``application/json``; API errors
    are never sent with that media type, so it is removed where a problem is.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=DESCRIPTION,
                tags=TAGS,
                routes=app.routes,
                webhooks=app.webhooks.routes,
            )
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    for response in op.get("responses", {}).values():
                        content = response.get("content", {})
                        if PROBLEM_MEDIA_TYPE in content:
                            content.pop("application/json", None)
            _declare_security(schema)
            openapi_docs.improve(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
