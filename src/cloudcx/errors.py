"""The app's generic error handlers: JSON for machines, HTML for people.

OAuth endpoints answer RFC 6749 errors, the API answers RFC 9457 problems and
the Control Panel answers pages; the choice follows the request path.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from cloudcx.api.errors import validation_problem
from cloudcx.api.problems import problem_response
from cloudcx.console.errors import error_page
from cloudcx.oauth.errors import InvalidRequestError, ServerError
from cloudcx.oauth.routes import oauth_error_handler
from cloudcx.ops.logs import current_request_id

log = logging.getLogger("cloudcx")

MACHINE_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/healthz")


def _is_machine(request: Request) -> bool:
    """JSON for the API, OAuth and machine clients; pages for everything a person opens."""
    if request.url.path.startswith(MACHINE_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response: Response
    if _is_machine(request):
        response = problem_response(exc.status_code, str(exc.detail), instance=request.url.path)
    else:
        response = error_page(request, exc.status_code, _title(exc.status_code), str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/oauth/"):
        return await oauth_error_handler(request, InvalidRequestError("The request is malformed."))
    if _is_machine(request):
        return await validation_problem(request, exc)
    return error_page(request, 400, "The form could not be read", "A field is too long or missing.")


async def client_disconnected(request: Request, exc: Exception) -> Response:
    """The client left before its body was in, or the server gave up on a late body.

    Nobody reads this answer, and no server fault caused it: no traceback, no 500.
    """
    log.info("client left during %s %s", request.method, request.url.path)
    return Response(status_code=400)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response: Response
    if request.url.path.startswith("/oauth/"):
        response = await oauth_error_handler(request, ServerError("An unexpected error occurred."))
    elif _is_machine(request):
        response = problem_response(500, "An unexpected error occurred.")
    else:
        response = error_page(request, 500, "Something went wrong", "Please try again in a moment.")
    # Answered outside the request middleware, which left its id set for this.
    if request_id := current_request_id():
        response.headers["X-Request-ID"] = request_id
    return response


def _title(status: int) -> str:
    return {404: "Not found", 405: "Method not allowed"}.get(status, "Request refused")
