"""Standard Webhooks signatures, so receivers verify with existing libraries.

"The signature is computed over the concatenation of the message id, the
timestamp and the payload, separated by full stops (``.``) ... HMAC-SHA256
... with the secret's base64-decoded bytes (after the ``whsec_`` prefix)";
the ``webhook-signature`` header holds space-delimited ``v1,<base64>``
signatures, one per secret in force (a rotated secret keeps signing).
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    content = f"{msg_id}.{timestamp}.{body}".encode()
    mac = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(
    secrets_in_force: Iterable[str], msg_id: str, timestamp: int, body: str
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(s, msg_id, timestamp, body) for s in secrets_in_force
        ),
    }
