"""Exception handlers that turn API failures into problem documents."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from cloudcx.api.auth import www_authenticate
from cloudcx.api.problems import Problem, problem_response
from cloudcx.oauth.errors import BearerError


async def problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(instance=request.url.path)


async def bearer_error_handler(request: Request, exc: Exception) -> Response:
    """RFC 6750 §3: a problem body plus the ``WWW-Authenticate`` challenge."""
    assert isinstance(exc, BearerError)
    return problem_response(
        exc.status_code,
        exc.description,
        headers={"WWW-Authenticate": www_authenticate(exc), **exc.headers},
        instance=request.url.path,
        **({"error": exc.error} if exc.error else {}),
        **({"required_scope": exc.scope} if exc.scope else {}),
    )


def _field(loc: tuple[Any, ...]) -> str:
    # Only the leading "body" is FastAPI's: a field may itself be named "body".
    parts = loc[1:] if loc[:1] == ("body",) else loc
    return ".".join(str(p) for p in parts)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": _field(tuple(err.get("loc", ()))),
            "message": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


async def validation_problem(request: Request, exc: RequestValidationError) -> Response:
    return problem_response(
        422,
        "The request is not valid.",
        instance=request.url.path,
        errors=field_errors(exc),
    )
