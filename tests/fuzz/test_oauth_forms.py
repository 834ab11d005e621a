"""Hypothesis form fuzz of the OAuth endpoints: only RFC errors ever come back.

Random parameters (known and unknown names), repeats, huge values, bad
percent-encodings, invalid UTF-8, wrong content types and mangled client
credentials. Whatever arrives, the answer is a success or an RFC 6749 §5.2
error (RFC 7009 adds ``unsupported_token_type``), with ``no-store`` — never a
5xx. The endpoints of RFC 7009, RFC 7662 and RFC 9126 are fuzzed when the app has them.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

import httpx
import pytest
from hypothesis import strategies as st

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from tests import helpers
from tests.fuzz.drawing import drawn

EXAMPLES = 300
DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §5.2
T = TypeVar("T")
ENDPOINTS = ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/par"]
RFC_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",  # RFC 7009 §2.2.1
    "unsupported_response_type",  # RFC 9126 §2.3 (RFC 6749 §4.1.2.1)
}
NAMES = [
    "grant_type",
    "username",
    "email",
    "password",
    "client_id",
    "client_secret",
    "scope",
    "code",
    "redirect_uri",
    "refresh_token",
    "code_verifier",
    "token",
    "token_type_hint",
]
GOOD = [
    "password",
    "refresh_token",
    "authorization_code",
    "client_credentials",
    "admin@acme.example",
    helpers.PASSWORD,
    "tickets:read audit:read",
    "access_token",
]
FORM = "application/x-www-form-urlencoded"
CONTENT_TYPES = [
    *[FORM] * 8,
    "application/x-www-form-urlencoded; charset=utf-8",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "application/json",
    "multipart/form-data; boundary=x",
    "text/plain",
    "",
]

values = st.one_of(
    st.sampled_from(GOOD),
    st.just("CLIENT_ID"),
    st.text(max_size=40),
    st.text(alphabet="a%\x00\r\n&=+;", max_size=20),
    st.integers(1, 20_000).map(lambda n: "x" * n),
)
pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=12)), values), max_size=8
)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.just(b"%zz=%ff&grant_type=password&grant_type=password"),
    st.just(b"\xff\xfe=\xc3\x28"),
)
auth_headers = st.one_of(
    st.none(),
    st.just("Bearer abc"),
    st.text(max_size=30),
    st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    st.tuples(st.text(max_size=10), st.text(max_size=10)).map(
        lambda t: "Basic " + base64.b64encode(f"{t[0]}:{t[1]}".encode()).decode()
    ),
)


def encode(items: list[tuple[str, str]], client_id: str) -> bytes:
    body = "&".join(
        f"{quote(k, safe='')}={quote(v.replace('CLIENT_ID', client_id), safe='')}" for k, v in items
    )
    return body.encode("utf-8", "surrogatepass")


def check(response: httpx.Response) -> str:
    assert response.status_code < 500, response.text
    if response.status_code in (200, 201):  # 201: a pushed request (RFC 9126 §2.2)
        return str(response.status_code)
    assert response.status_code in (400, 401, 413, 429), response.status_code
    body = response.json()
    assert body["error"] in RFC_ERRORS, body
    assert set(body) <= {"error", "error_description", "error_uri"}
    assert DESCRIPTION.fullmatch(body.get("error_description", "x")), body
    assert response.headers["cache-control"] == "no-store"
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) >= 1
    return f"{response.status_code} {body['error']}"


@dataclass(frozen=True)
class Case:
    items: list[tuple[str, str]]
    raw: bytes | None
    content_type: str
    authorization: str | None


def mostly_none(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.sampled_from([False] * 4 + [True]).flatmap(lambda on: strategy if on else st.none())


# A well-formed request with mutations reaches the grants; pure noise tests the parser.
def usually(*good: str) -> st.SearchStrategy[str]:
    """One of ``good`` four times in five, anything otherwise."""
    return st.sampled_from([True] * 4 + [False]).flatmap(
        lambda ok: st.sampled_from(good) if ok else values
    )


well_formed = st.fixed_dictionaries(
    {
        "grant_type": usually(
            "password", "password", "refresh_token", "client_credentials", "authorization_code"
        ),
        "client_id": usually("CLIENT_ID"),
        "password": usually(helpers.PASSWORD, "wrong-password-1"),
    },
    optional={
        "email": usually("admin@acme.example", "ghost@acme.example"),
        "username": usually("admin@acme.example"),
        "scope": usually("tickets:read", "audit:read nope", "profile"),
        "client_secret": values,
        "token": values,
        "token_type_hint": usually("access_token", "refresh_token"),
        "code": values,
        "refresh_token": values,
    },
).map(lambda d: list(d.items()))
items_strategy = st.one_of(
    well_formed,
    well_formed,
    well_formed,
    st.tuples(well_formed, pairs).map(lambda t: t[0] + t[1]),
    pairs,
)

cases_strategy = st.builds(
    Case,
    items=items_strategy,
    raw=mostly_none(raw_bodies),
    content_type=st.sampled_from(CONTENT_TYPES),
    authorization=mostly_none(auth_headers),
)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_oauth_endpoint_form_fuzz(
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    path: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    probe = await http.post(path, data={})
    if probe.status_code in (404, 405):
        pytest.skip(f"{path} is not served by this build")
    seen: Counter[str] = Counter()
    for case in drawn(cases_strategy, EXAMPLES):
        headers = {"content-type": case.content_type.encode()}
        if case.authorization is not None:
            # Raw bytes: non-ASCII credentials must reach the server as sent.
            headers["authorization"] = case.authorization.encode("utf-8", "surrogatepass")
        body = case.raw if case.raw is not None else encode(case.items, oauth_client.client_id)
        response = await http.post(path, content=body, headers=headers)
        try:
            seen[check(response)] += 1
        except AssertionError as exc:
            raise AssertionError(f"{case!r} -> {response.status_code} {response.text}") from exc
    assert sum(seen.values()) >= EXAMPLES * 0.9
    with capsys.disabled():
        print(f"\n[form fuzz {path}] {sum(seen.values())} cases: {dict(seen.most_common())}")
