"""OpenAPI that tells the truth: RFC 9457 problems, and the token endpoint's real form.

FastAPI documents every validation failure as ``422 application/json``
``HTTPValidationError``; the API really answers ``application/problem+json``
(``api.errors``). Bearer-protected operations can also answer 401 and 403
(RFC 6750 §3.1). The token endpoint reads its form itself (``oauth.forms``),
so FastAPI cannot see its parameters; they are described here from RFC 6749.
Schema-driven clients and fuzzers (schemathesis) trust the document, so it is
corrected once, here.
"""

from __future__ import annotations

from typing import Any

# The same schema the API routes declare (``api.openapi.ProblemDetail``).
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ProblemDetail",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status"],
    "additionalProperties": True,
}
TOKEN_PATH = "/oauth/token"
# RFC 6749 §4.3.2 (and the guide's ``email``), §4.1.3, §4.4.2, §6; §2.3.1 client auth.
TOKEN_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "string", "maxLength": 1024}
        for name in (
            "grant_type",
            "username",
            "email",
            "password",
            "client_id",
            "client_secret",
            "scope",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
        )
    },
    "required": ["grant_type"],
}
TOKEN_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string"},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
        "refresh_token": {"type": "string"},
    },
    "required": ["access_token", "token_type", "expires_in"],
}
OAUTH_ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "error_uri": {"type": "string"},
    },
    "required": ["error"],
    "additionalProperties": False,
}
BEARER_ERRORS = {"401": "Missing, invalid or revoked token", "403": "Insufficient scope or role"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def _fix_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = _problem("The request is not valid")
    if operation.get("security"):
        for status, description in BEARER_ERRORS.items():
            responses.setdefault(status, _problem(description))


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _describe_token_endpoint(paths: dict[str, Any]) -> None:
    operation = paths.get(TOKEN_PATH, {}).get("post")
    if operation is None or "requestBody" in operation:
        return
    operation["requestBody"] = {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": TOKEN_FORM}},
    }
    operation["responses"] = {
        "200": _json("Access token (RFC 6749 §5.1)", TOKEN_RESPONSE),
        "400": _json("Error (RFC 6749 §5.2)", OAUTH_ERROR),
        "401": _json("Client authentication failed (RFC 6749 §5.2)", OAUTH_ERROR),
        "429": _json("Too many failed attempts; see Retry-After", OAUTH_ERROR),
    }


def improve(schema: dict[str, Any]) -> None:
    """Error responses as problems, the token endpoint's form described, no unused schemas."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                _fix_operation(operation)
    _describe_token_endpoint(schema.get("paths", {}))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ProblemDetail", PROBLEM_SCHEMA)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
