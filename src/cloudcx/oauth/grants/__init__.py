"""Grant handlers, one module each, chosen by ``grant_type``.

Turning a grant on is one line in ``GRANTS``.
"""

from __future__ import annotations

from cloudcx.oauth.errors import UnsupportedGrantTypeError
from cloudcx.oauth.grants.authorization_code import AuthorizationCodeGrant
from cloudcx.oauth.grants.base import Grant
from cloudcx.oauth.grants.client_credentials import ClientCredentialsGrant
from cloudcx.oauth.grants.password import PasswordGrant
from cloudcx.oauth.grants.refresh_token import RefreshTokenGrant

GRANTS: dict[str, type[Grant]] = {
    PasswordGrant.grant_type: PasswordGrant,
    AuthorizationCodeGrant.grant_type: AuthorizationCodeGrant,
    RefreshTokenGrant.grant_type: RefreshTokenGrant,
    ClientCredentialsGrant.grant_type: ClientCredentialsGrant,
}


def grant_for(grant_type: str) -> type[Grant]:
    """RFC 6749 §5.2 ``unsupported_grant_type`` for anything not registered."""
    try:
        return GRANTS[grant_type]
    except KeyError:
        raise UnsupportedGrantTypeError(
            f"The grant type '{grant_type[:64]}' is not supported."
        ) from None
