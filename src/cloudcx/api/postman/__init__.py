"""A Postman collection and environment, made from the live OpenAPI document.

The OAuth client guide's readers work in Postman: a POST to ``/oauth/token``
with ``x-www-form-urlencoded`` keys, then requests with Authorization > OAuth
2.0 and the ``Bearer`` prefix. The collection (schema v2.1) does that for them.
Every ``/api/v1`` operation is converted from the OpenAPI document the server
publishes, so the two cannot drift apart; the OAuth flows around them (the
guide's password grant, the code flow with PKCE, client credentials) are
written in ``flows``. Each request carries Postman tests of the status it must answer,
so the collection run by newman is its own proof.

``operations`` converts the API, ``flows`` writes the OAuth folders, ``items``
holds Postman's building blocks and ``scripts`` the JavaScript run in Postman.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson

from cloudcx.api.postman import scripts as js
from cloudcx.api.postman.flows import (
    CLIENT_CREDENTIALS,
    CODE_FLOW,
    OAUTH_TAG,
    client_credentials_folder,
    code_flow_folder,
    oauth_folder,
)
from cloudcx.api.postman.items import all_requests, event, oauth2, path_variables
from cloudcx.api.postman.operations import api_folders
from cloudcx.tenancy.middleware import valid_host

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
COLLECTION_PATH = "/api/v1/postman.json"
ENVIRONMENT_PATH = "/api/v1/postman_environment.json"
COLLECTION_FILE = "cloudcx.postman_collection.json"
ENVIRONMENT_FILE = "cloudcx.postman_environment.json"
# The four a reader sets, then the optional ones of the code-flow and client-credentials folders.
ENVIRONMENT = (
    ("base_url", "default"),
    ("email", "default"),
    ("password", "secret"),
    ("client_id", "default"),
    ("redirect_uri", "default"),
    ("confidential_client_id", "default"),
    ("confidential_client_secret", "secret"),
)
TOKEN_VARIABLES = ("access_token", "access_token_expires_at", "narrow_access_token")
_NAMESPACE = uuid.UUID("5d0f64a4-3c55-4b8e-9a53-2f1f3c7ab0c1")


def base_url_for(address: str) -> str:
    """``https://DOMAIN`` for a domain (``http`` for a loopback host), or the URL given."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    host = valid_host(parts.netloc)
    if not host or parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{address!r} is not a domain or a base URL such as https://cx.example.")
    scheme = parts.scheme or (
        "http" if (parts.hostname or "") in {"localhost", "127.0.0.1", "::1"} else "https"
    )
    if scheme not in ("http", "https"):
        raise ValueError(f"{address!r}: the base URL must start with http:// or https://.")
    return f"{scheme}://{host}"


def dumps(document: dict[str, Any]) -> bytes:
    """Indented UTF-8 JSON, as Postman itself exports."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def environment(base_url: str) -> dict[str, Any]:
    values = [
        {"key": k, "value": base_url if k == "base_url" else "", "type": t, "enabled": True}
        for k, t in ENVIRONMENT
    ]
    return {
        "id": str(uuid.uuid5(_NAMESPACE, "environment " + base_url)),
        "name": f"CloudCX ({urlsplit(base_url).netloc})",
        "values": values,
        "_postman_variable_scope": "environment",
    }


def collection(openapi: dict[str, Any], base_url: str) -> dict[str, Any]:
    api = api_folders(openapi)
    ids = sorted({v for item in all_requests(api) for v in path_variables(item)})
    names = [k for k, _ in ENVIRONMENT] + list(TOKEN_VARIABLES) + ids
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(_NAMESPACE, "collection " + base_url)),
            "name": f"{openapi['info']['title']} ({urlsplit(base_url).netloc})",
            "description": _DESCRIPTION,
            "schema": SCHEMA,
        },
        "auth": oauth2(
            {
                "grant_type": "password_credentials",
                "accessTokenUrl": "{{base_url}}/oauth/token",
                "clientId": "{{client_id}}",
                "username": "{{email}}",
                "password": "{{password}}",
                "client_authentication": "body",
                "tokenName": "CloudCX password grant",
                "accessToken": "{{access_token}}",
            }
        ),
        "event": [event("prerequest", js.render(js.GET_TOKEN_WHEN_NEEDED))],
        "variable": [
            {"key": k, "value": base_url if k == "base_url" else "", "type": "string"}
            for k in names
        ],
        "item": [oauth_folder(), *api, code_flow_folder(), client_credentials_folder()],
    }


_DESCRIPTION = """The CloudCX API with the OAuth client guide's flows.

Set four variables in the environment: `base_url` (filled in), `email`, `password` and
`client_id` (Global Settings > Security > OAuth Client > Action > Edit), then send any
request: the collection's Authorization is OAuth 2.0 with the password grant and the
Bearer prefix, and a pre-request script gets the access token when there is none.

The folder "Authorization code with PKCE" needs `redirect_uri`
(`https://oauth.pstmn.io/v1/callback`, registered on the client with the Authorization
code grant); "Client credentials" needs `confidential_client_id` and
`confidential_client_secret` of a client with a secret. They are skipped until then."""


__all__ = ["CLIENT_CREDENTIALS", "CODE_FLOW", "OAUTH_TAG"]
