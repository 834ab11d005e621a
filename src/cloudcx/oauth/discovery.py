"""What OpenID Connect Discovery 1.0 §3 adds to the RFC 8414 metadata.

Both ``/.well-known/oauth-authorization-server`` and
``/.well-known/openid-configuration`` serve ``metadata.document()`` with these
values added, so the two never disagree (RFC 8414 §1 wants them alike).
https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
"""

from __future__ import annotations

from typing import Any

from cloudcx.oauth import id_tokens, oidc
from cloudcx.oauth.keys import KeyRing

CLAIMS_SUPPORTED = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "sid",
    "name",
    "updated_at",
    "email",
    "email_verified",
]
USERINFO_PATH = "/userinfo"
END_SESSION_PATH = "/oauth/logout"


def openid_values(issuer: str, keys: KeyRing) -> dict[str, Any]:
    return {
        "userinfo_endpoint": f"{issuer}{USERINFO_PATH}",
        "end_session_endpoint": f"{issuer}{END_SESSION_PATH}",
        # §3: every user has one ``sub`` for every client.
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": id_tokens.supported_algs(keys),
        "claims_supported": CLAIMS_SUPPORTED,
        "prompt_values_supported": list(oidc.PROMPTS),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        # Request objects by reference (Core §6.2) are not supported; the default is true.
        "request_uri_parameter_supported": False,
    }
