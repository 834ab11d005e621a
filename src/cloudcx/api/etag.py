"""Entity tags (RFC 9110 §8.8.3) and conditional requests (RFC 9110 §13).

The tag is a digest of the resource's public representation, so it changes
exactly when what a client read changes. ``If-Match`` uses the strong
comparison (§13.1.1): a stale tag gets 412 instead of silently overwriting
someone else's change (the "lost update" problem).
"""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from cloudcx.api.problems import Problem
from cloudcx.core.responses import OrjsonResponse


def etag_of(model: BaseModel) -> str:
    return '"' + hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def check_if_match(request: Request, current: BaseModel) -> None:
    """Refuse a PATCH or DELETE whose ``If-Match`` names another version (412)."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags, tag = _tags(header), etag_of(current)
    if "*" in tags or tag in tags:
        return
    raise Problem(
        412,
        "The resource has changed since you read it. GET it again, re-apply your change "
        "and send the new ETag in If-Match.",
        headers={"ETag": tag},
    )


def tagged(request: Request, model: BaseModel) -> Response:
    """The representation with its ``ETag``; 304 when ``If-None-Match`` already has it."""
    tag = etag_of(model)
    if tag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers={"ETag": tag})
    return OrjsonResponse(model.model_dump(mode="json"), headers={"ETag": tag})
