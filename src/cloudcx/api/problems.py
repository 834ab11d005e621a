"""RFC 9457 problem details: the one error format of the REST API.

https://www.rfc-editor.org/rfc/rfc9457
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from cloudcx.core.responses import OrjsonResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        title: str | None = None,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(detail)

    def response(self, instance: str | None = None) -> OrjsonResponse:
        return problem_response(
            self.status,
            self.detail,
            title=self.title,
            type_=self.type,
            headers=self.headers,
            instance=instance,
            **self.extensions,
        )


class NotFound(Problem):
    def __init__(self, detail: str = "The resource does not exist.") -> None:
        super().__init__(404, detail)


def problem_response(
    status: int,
    detail: str = "",
    *,
    title: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> OrjsonResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return OrjsonResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def invalid(field: str, message: str, type_: str = "value_error") -> Problem:
    """A 422 shaped like request validation errors, for checks the schema cannot make
    (an id naming nothing in this tenant, a cursor of another listing)."""
    return Problem(
        422,
        "The request is not valid.",
        errors=[{"field": field, "message": message, "type": type_}],
    )


class Conflict(Problem):
    def __init__(self, detail: str) -> None:
        super().__init__(409, detail)
