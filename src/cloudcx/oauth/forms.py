"""Reading OAuth endpoint requests exactly as RFC 6749 §3.2 requires.

Parameters come only as ``application/x-www-form-urlencoded``; a parameter
sent twice is an error (§3.1, §3.2: "Request and response parameters MUST NOT
be included more than once"); a parameter sent without a value is treated as
omitted.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request

from cloudcx.oauth.errors import InvalidClientError, InvalidRequestError

MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str | None
    client_secret: str | None
    # How they were presented: "client_secret_basic", "client_secret_post" or "none".
    method: str


class OAuthForm:
    def __init__(self, params: dict[str, str]) -> None:
        self.params = params

    def get(self, name: str) -> str | None:
        return self.params.get(name) or None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise InvalidRequestError(f"The '{name}' parameter is required.")
        return value


async def read_form(request: Request) -> OAuthForm:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The request body must be application/x-www-form-urlencoded.")
    body = await _read_limited(request)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError("The request body is not valid UTF-8 form data.") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidRequestError(f"The '{name}' parameter is repeated.")
        if "\x00" in value:
            raise InvalidRequestError(f"The '{name}' parameter contains a NUL character.")
        params[name] = value
    return OAuthForm(params)


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise InvalidRequestError("The request body is too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise InvalidRequestError("The request body is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def client_credentials(request: Request, form: OAuthForm) -> ClientCredentials:
    """RFC 6749 §2.3.1: HTTP Basic or the request body — never both (§2.3)."""
    header = request.headers.get("authorization")
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if header is None:
        method = "client_secret_post" if body_secret else "none"
        return ClientCredentials(body_id, body_secret, method)
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClientError("Only HTTP Basic client authentication is supported.", basic=True)
    if body_secret is not None:
        raise InvalidRequestError("Use only one client authentication method.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientError("Malformed Basic credentials.", basic=True) from exc
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        raise InvalidClientError("Malformed Basic credentials.", basic=True)
    # §2.3.1: client id and secret are form-encoded before Basic encoding.
    basic_id, basic_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if body_id is not None and body_id != basic_id:
        raise InvalidRequestError("client_id in the body differs from the Basic credentials.")
    return ClientCredentials(basic_id or None, basic_secret or None, "client_secret_basic")
