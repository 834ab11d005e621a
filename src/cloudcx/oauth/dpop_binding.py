"""DPoP at the token endpoint and the resource server (RFC 9449 §5, §7).

``DPoPVerifier`` adds to the proof checks of ``oauth.dpop`` what depends on the
server: the URL the request reached, nonces and the replay cache. The two
entry points turn its refusals into each side's errors: RFC 6749 §5.2 JSON at
the token endpoint, a ``WWW-Authenticate: DPoP`` challenge at the API
(``check_resource_request``, which ``/api/v1`` and ``/userinfo`` both call).
"""

from __future__ import annotations

import hmac
import time
import uuid

from fastapi import Request

from cloudcx.config import Settings
from cloudcx.oauth import dpop
from cloudcx.oauth.clients import ClientInfo
from cloudcx.oauth.dpop import Proof, ProofError
from cloudcx.oauth.dpop_replay import (
    MemoryReplayCache,
    Nonces,
    RedisReplayCache,
    ReplayCache,
    replay_key,
)
from cloudcx.oauth.errors import (
    DPoPInvalidTokenError,
    DPoPNonceError,
    DPoPProofError,
    InvalidDPoPProofError,
    UseDPoPNonceError,
)
from cloudcx.oauth.tokens import AccessToken

HEADER = "dpop"
NONCE_HEADER = "DPoP-Nonce"


class NonceRequired(Exception):
    """The proof lacks a current server nonce; ``nonce`` is the one to use."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        super().__init__("DPoP nonce required")


def request_url(request: Request) -> str:
    """The URL the client reached, as ``htu`` must name it: the tenant's URL as this
    request saw it (``deps.issuer_of``: scheme and host after trusted-proxy
    handling) and the path as sent, before any percent-decoding."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    base: str = request.state.base_url
    return dpop.normalize_uri(base + path.split("?", 1)[0]) or ""


class DPoPVerifier:
    """The platform's DPoP policy, one per process (``Platform.dpop``)."""

    def __init__(
        self,
        *,
        max_age: int,
        skew: int,
        nonce_required: bool,
        nonces: Nonces,
        replays: ReplayCache,
    ) -> None:
        self.max_age, self.skew = max_age, skew
        self.nonce_required = nonce_required
        self.nonces = nonces
        self.replays = replays

    @classmethod
    def from_settings(cls, settings: Settings) -> DPoPVerifier:
        replays: ReplayCache = (
            RedisReplayCache(settings.redis_url) if settings.redis_url else MemoryReplayCache()
        )
        return cls(
            max_age=settings.dpop_proof_max_age,
            skew=settings.dpop_clock_skew,
            nonce_required=settings.dpop_nonce_required,
            nonces=Nonces(settings.resolved_secret_key, settings.dpop_nonce_lifetime),
            replays=replays,
        )

    async def check(
        self, request: Request, tenant_id: uuid.UUID, access_token: str | None = None
    ) -> Proof | None:
        """The request's proof, checked (RFC 9449 §4.3); None when it has none.

        The ``jti`` is recorded last, so a proof refused for any other reason
        can be corrected and sent again with the same ``jti``.
        """
        values = request.headers.getlist(HEADER)
        if not values:
            return None
        if len(values) > 1:
            raise ProofError("Send exactly one DPoP header.")
        proof = dpop.verify(
            values[0],
            method=request.method,
            url=request_url(request),
            now=time.time(),
            max_age=self.max_age,
            skew=self.skew,
            access_token=access_token,
        )
        if self.nonce_required and (
            proof.nonce is None or not self.nonces.accepts(proof.nonce, tenant_id)
        ):
            raise NonceRequired(self.nonces.current(tenant_id))
        key = replay_key(tenant_id, proof.jkt, proof.jti)
        if not await self.replays.first_use(key, self.max_age + self.skew):
            raise ProofError("This DPoP proof was used before: make a new one for each request.")
        return proof

    async def close(self) -> None:
        if isinstance(self.replays, RedisReplayCache):
            await self.replays.close()

    def response_headers(self, tenant_id: uuid.UUID) -> dict[str, str]:
        """§8.2: with nonces required, every answer to a DPoP request carries the
        current one, so clients move to the next before theirs goes stale."""
        if not self.nonce_required:
            return {}
        return {NONCE_HEADER: self.nonces.current(tenant_id)}


async def token_request_key(
    verifier: DPoPVerifier, request: Request, tenant_id: uuid.UUID, client: ClientInfo
) -> str | None:
    """The thumbprint the token request's tokens are bound to, or None (§5).

    A client that must use DPoP (``require_dpop``, RFC 9449 §5.2's
    ``dpop_bound_access_tokens``) is refused without a proof.
    """
    try:
        proof = await verifier.check(request, tenant_id)
    except ProofError as exc:
        raise InvalidDPoPProofError(str(exc)) from None
    except NonceRequired as exc:
        raise UseDPoPNonceError(exc.nonce) from None
    if proof is None:
        if client.require_dpop:
            raise InvalidDPoPProofError("This client must send a DPoP proof with each request.")
        return None
    return proof.jkt


async def pushed_request_key(
    verifier: DPoPVerifier, request: Request, tenant_id: uuid.UUID, sent: str | None
) -> str | None:
    """§10.1: a DPoP proof sent with a pushed authorization request binds its code
    to the proof's key, as ``dpop_jkt`` does; when both are sent they must agree.
    Returns the thumbprint the code is bound to, or None."""
    try:
        proof = await verifier.check(request, tenant_id)
    except ProofError as exc:
        raise InvalidDPoPProofError(str(exc)) from None
    except NonceRequired as exc:
        raise UseDPoPNonceError(exc.nonce) from None
    if proof is None:
        return sent
    if sent is not None and not hmac.compare_digest(sent.encode(), proof.jkt.encode()):
        raise InvalidDPoPProofError("dpop_jkt is not the thumbprint of the DPoP proof's key.")
    return proof.jkt


async def check_resource_request(
    verifier: DPoPVerifier, request: Request, token: AccessToken, value: str
) -> None:
    """``Authorization: DPoP <value>``: the token must be bound, and the request's
    proof valid, made for this token (``ath``) with the token's key (§7.1).

    Raises the API's errors (``BearerError``), rendered with a DPoP challenge.
    """
    if token.jkt is None:
        raise DPoPInvalidTokenError("This access token is not DPoP-bound: send it as Bearer.")
    try:
        proof = await verifier.check(request, token.tenant_id, access_token=value)
    except ProofError as exc:
        raise DPoPProofError(str(exc)) from None
    except NonceRequired as exc:
        raise DPoPNonceError(exc.nonce, "The API requires a nonce in the DPoP proof.") from None
    if proof is None:
        raise DPoPProofError("A DPoP-bound access token needs a DPoP proof header.")
    if not hmac.compare_digest(proof.jkt.encode(), token.jkt.encode()):
        raise DPoPInvalidTokenError("The DPoP proof was not made with this access token's key.")


def refuse_bearer_use(token: AccessToken) -> None:
    """§7.2: a DPoP-bound token presented as a bearer token MUST be rejected."""
    if token.jkt is not None:
        raise DPoPInvalidTokenError(
            "This access token is DPoP-bound: send it as 'Authorization: DPoP' with a proof."
        )
