"""What the OpenAPI document says about errors, shared by every API router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
            entry["content"] = {PROBLEM_MEDIA_TYPE: {}}
        if code == 429:
            entry["headers"] = {
                **_RATE_HEADERS,
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
            }
        out[code] = entry
    return out
