"""OAuth error classes, one per RFC error code.

Each class carries its ``error`` code and HTTP status; raising one anywhere in
a grant or endpoint is enough for the single handler in ``oauth.routes`` to
render it as RFC 6749 §5.2 JSON with ``Cache-Control: no-store``.
``description`` is sent to the client; ``debug`` is for logs and never sent
(after ory/fosite's split between client-safe and internal text).
"""

from __future__ import annotations

import re
import unicodedata

# RFC 6749 §5.1/§5.2: token responses and their errors must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# RFC 6749 §5.2 and §4.1.2.1: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
_NOT_DESCRIPTION_CHAR = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
_QUOTES = str.maketrans({'"': "'", "\\": "/"})


def client_safe(text: str) -> str:
    """``text`` within error_description's characters, the same way every time.

    Descriptions may quote request input (a grant type, a scope), so they are
    made safe where an error is made, for its JSON body and its redirect alike:
    accents are dropped (é → e), compatibility forms folded (fullwidth a → a), ``"``
    becomes ``'`` and ``\\`` becomes ``/``, and anything else outside the set
    (controls, other scripts) becomes ``?``.
    """
    if not _NOT_DESCRIPTION_CHAR.search(text):
        return text
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NOT_DESCRIPTION_CHAR.sub("?", folded.translate(_QUOTES))


class OAuthError(Exception):
    error: str = "server_error"
    status_code: int = 400
    default_description: str = ""

    def __init__(
        self,
        description: str | None = None,
        *,
        debug: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.description = client_safe(description or self.default_description)
        self.debug = debug
        self.headers = headers or {}
        super().__init__(f"{self.error}: {self.description}")

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequestError(OAuthError):
    """https://datatracker.ietf.org/doc/html/rfc6749#section-5.2"""

    error = "invalid_request"
    default_description = "The request is missing a parameter or is otherwise malformed."


class InvalidClientError(OAuthError):
    """Client authentication failed (unknown client, no or wrong credentials).

    RFC 6749 §5.2: when the client used the "Authorization" header the server
    MUST answer 401 with a ``WWW-Authenticate`` header naming that scheme.
    """

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed."

    def __init__(self, description: str | None = None, *, basic: bool = False, **kw: str) -> None:
        super().__init__(description, **kw)  # type: ignore[arg-type]
        if basic:
            self.headers["WWW-Authenticate"] = 'Basic realm="oauth"'


class InvalidGrantError(OAuthError):
    error = "invalid_grant"
    default_description = "The provided authorization grant is invalid, expired or revoked."


class UnauthorizedClientError(OAuthError):
    error = "unauthorized_client"
    default_description = "The client is not authorized to use this grant type."


class UnsupportedGrantTypeError(OAuthError):
    error = "unsupported_grant_type"
    default_description = "The grant type is not supported by this server."


class InvalidScopeError(OAuthError):
    error = "invalid_scope"
    default_description = "The requested scope is invalid, unknown or not allowed."


class AccessDeniedError(OAuthError):
    """https://datatracker.ietf.org/doc/html/rfc6749#section-4.1.2.1"""

    error = "access_denied"
    status_code = 403
    default_description = "The resource owner denied the request."


class UnsupportedResponseTypeError(OAuthError):
    error = "unsupported_response_type"
    default_description = "The response type is not supported."


class UnsupportedTokenTypeError(OAuthError):
    """https://datatracker.ietf.org/doc/html/rfc7009#section-2.2.1"""

    error = "unsupported_token_type"
    default_description = "Revocation of this token type is not supported."


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500
    default_description = "The server met an unexpected condition."


class TemporarilyUnavailableError(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503
    default_description = "The server is temporarily unable to handle the request."


class SlowDownError(InvalidRequestError):
    """Too many failed attempts from this address: 429 with ``Retry-After``.

    RFC 6749 §5.2 has no code for throttling (``slow_down`` belongs to the
    device flow, RFC 8628 §3.5, and means "poll less often"), so the body
    carries ``invalid_request``, which every client understands, while the
    status (RFC 6585 §4) and ``Retry-After`` (RFC 9110 §10.2.3) say when to retry.
    """

    status_code = 429
    default_description = "Too many failed attempts; retry later."

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(description, headers={"Retry-After": str(max(1, retry_after))})


class InvalidDPoPProofError(OAuthError):
    """https://datatracker.ietf.org/doc/html/rfc9449#section-5"""

    error = "invalid_dpop_proof"
    default_description = "The DPoP proof is invalid."


class UseDPoPNonceError(OAuthError):
    """RFC 9449 §8: the proof must carry the nonce sent in ``DPoP-Nonce``.

    https://datatracker.ietf.org/doc/html/rfc9449#section-8
    """

    error = "use_dpop_nonce"
    default_description = "The authorization server requires a nonce in the DPoP proof."

    def __init__(self, nonce: str, description: str | None = None) -> None:
        super().__init__(description, headers={"DPoP-Nonce": nonce})


# --- Resource-server errors (RFC 6750 §3.1, RFC 9449 §7.1) -----------------------


class BearerError(Exception):
    """An API request's bearer credential was refused.

    ``scheme`` is the challenge's authentication scheme: ``DPoP`` for a
    request that used it or a token bound to a key (RFC 9449 §7.1).
    """

    error: str | None = None
    status_code = 401
    scheme = "Bearer"

    def __init__(
        self,
        description: str = "",
        scope: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.description = description
        self.scope = scope
        self.headers = headers or {}
        super().__init__(description)


class MissingTokenError(BearerError):
    """No credentials: RFC 6750 §3.1 says the challenge SHOULD carry no error code."""


class InvalidTokenError(BearerError):
    error = "invalid_token"


class InsufficientScopeError(BearerError):
    error = "insufficient_scope"
    status_code = 403


class DPoPInvalidTokenError(InvalidTokenError):
    """A DPoP-bound token sent as Bearer, an unbound one sent as DPoP, or a proof
    made with another key than the token's (RFC 9449 §7.1, §7.2)."""

    scheme = "DPoP"


class DPoPProofError(BearerError):
    """https://datatracker.ietf.org/doc/html/rfc9449#section-7.1"""

    error = "invalid_dpop_proof"
    scheme = "DPoP"


class DPoPNonceError(BearerError):
    """RFC 9449 §9: the resource server's nonce, in ``DPoP-Nonce``, is required."""

    error = "use_dpop_nonce"
    scheme = "DPoP"

    def __init__(self, nonce: str, description: str) -> None:
        super().__init__(description, headers={"DPoP-Nonce": nonce})
