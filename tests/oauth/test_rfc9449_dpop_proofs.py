"""RFC 9449 §4.3: every check of a DPoP proof, one refusal at a time."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import import_key
from jwt.algorithms import RSAAlgorithm

from cloudcx.oauth import dpop
from cloudcx.oauth.dpop import ProofError
from cloudcx.oauth.dpop_replay import MemoryReplayCache, Nonces
from tests.oauth.dpop_keys import TOKEN_URL, DPoPKey, ath, drop

URL = dpop.normalize_uri(TOKEN_URL) or ""


def check(value: str, **overrides: Any) -> dpop.Proof:
    args: dict[str, Any] = {
        "method": "POST",
        "url": URL,
        "now": time.time(),
        "max_age": 60,
        "skew": 5,
    }
    args.update(overrides)
    return dpop.verify(value, **args)


@pytest.fixture(scope="module")
def key() -> DPoPKey:
    return DPoPKey()


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "PS256", "RS256", "EdDSA"])
def test_a_valid_proof_of_each_algorithm(alg: str) -> None:
    key = DPoPKey(alg)
    proof = check(key.proof())
    assert proof.jkt == key.jkt
    assert proof.nonce is None


def test_thumbprint_agrees_with_joserfc(key: DPoPKey) -> None:
    """RFC 7638: the server's thumbprint is the one an independent library computes."""
    for k in (key, DPoPKey("RS256"), DPoPKey("EdDSA")):
        assert dpop.thumbprint(k.jwk) == import_key(k.jwk).thumbprint()


def test_rfc7638_example_thumbprint() -> None:
    """RFC 7638 §3.1's example: the thumbprint of a public RSA key."""
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo"
        "c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YG"
        "jQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
        "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnq"
        "DKgw"
    )
    assert dpop.thumbprint({"kty": "RSA", "e": "AQAB", "n": n, "alg": "RS256", "kid": "x"}) == (
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    )


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWS of any header, with a signature that cannot verify."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.c2ln"


def _claims() -> dict[str, Any]:
    return {"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time())}


def _hs256(key: DPoPKey) -> str:
    return jwt.encode(
        _claims(),
        "a-shared-secret-of-thirty-two-bytes!",
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": {"kty": "oct", "k": "c2VjcmV0"}},
    )


def _with_private_member(key: DPoPKey) -> str:
    private = key.private.private_numbers()
    d = private.private_value.to_bytes(32, "big")
    jwk = {**key.jwk, "d": base64.urlsafe_b64encode(d).rstrip(b"=").decode()}
    return key.proof(header={"jwk": jwk})


def _other_key_signature(key: DPoPKey) -> str:
    """Signed by one key, naming another in ``jwk``."""
    return DPoPKey().proof(header={"jwk": key.jwk})


def _tampered(key: DPoPKey) -> str:
    head, _body, sig = key.proof().split(".")
    other = DPoPKey().proof().split(".")[1]
    return f"{head}.{other}.{sig}"


def _small_rsa() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused: the point)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return jwt.encode(
        _claims(), private, algorithm="RS256", headers={"typ": "dpop+jwt", "jwk": jwk}
    )


REFUSALS: list[tuple[str, Any, str]] = [
    ("not-a-jwt", lambda k: "not a jwt", "well-formed"),
    ("two-jwts", lambda k: k.proof() + "," + k.proof(), "well-formed"),
    ("typ-jwt", lambda k: k.proof(header={"typ": "JWT"}), "typ"),
    ("typ-at+jwt", lambda k: k.proof(header={"typ": "at+jwt"}), "typ"),
    (
        "alg-none",
        lambda k: jwt.encode(
            _claims(), None, algorithm="none", headers={"typ": "dpop+jwt", "jwk": k.jwk}
        ),
        "well-formed",
    ),
    (
        "alg-none-signed",
        lambda k: _unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": k.jwk}, _claims()),
        "alg",
    ),
    ("alg-hs256", _hs256, "alg"),
    (
        "alg-not-supported",
        lambda k: _unsigned({"typ": "dpop+jwt", "alg": "ES256K", "jwk": k.jwk}, _claims()),
        "alg",
    ),
    ("no-jwk", lambda k: k.proof(header={"jwk": drop()}), "jwk"),
    ("jwk-not-object", lambda k: k.proof(header={"jwk": "key"}), "jwk"),
    ("jwk-private", _with_private_member, "private"),
    (
        "jwk-of-other-kty",
        lambda k: _unsigned({"typ": "dpop+jwt", "alg": "RS256", "jwk": k.jwk}, _claims()),
        "not a key for",
    ),
    (
        "jwk-of-other-curve",
        lambda k: _unsigned({"typ": "dpop+jwt", "alg": "ES384", "jwk": k.jwk}, _claims()),
        "not a key for",
    ),
    ("rsa-too-short", lambda k: _small_rsa(), "2048"),
    ("signed-by-another-key", _other_key_signature, "signature"),
    ("payload-tampered", _tampered, "signature"),
    ("no-jti", lambda k: k.proof(jti=drop()), "jti"),
    ("no-htm", lambda k: k.proof(htm=drop()), "htm"),
    ("no-htu", lambda k: k.proof(htu=drop()), "htu"),
    ("no-iat", lambda k: k.proof(iat=drop()), "iat"),
    ("iat-string", lambda k: k.proof(iat="now"), "iat"),
    ("jti-too-long", lambda k: k.proof(jti="j" * 300), "jti"),
    ("htm-get", lambda k: k.proof("GET"), "htm"),
    ("htm-lower-case", lambda k: k.proof("post"), "htm"),
    ("htu-other-path", lambda k: k.proof(url="http://localhost/oauth/revoke"), "htu"),
    ("htu-other-host", lambda k: k.proof(url="http://globex.example/oauth/token"), "htu"),
    ("htu-other-scheme", lambda k: k.proof(url="https://localhost/oauth/token"), "htu"),
    ("htu-other-port", lambda k: k.proof(url="http://localhost:8080/oauth/token"), "htu"),
    ("htu-relative", lambda k: k.proof(url="/oauth/token"), "htu"),
    ("htu-userinfo", lambda k: k.proof(url="http://user@localhost/oauth/token"), "htu"),
    ("htu-trailing-slash", lambda k: k.proof(url="http://localhost/oauth/token/"), "htu"),
    ("iat-too-old", lambda k: k.proof(iat=int(time.time()) - 61), "too old"),
    ("iat-in-the-future", lambda k: k.proof(iat=int(time.time()) + 30), "future"),
]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    ("make", "words"), [(m, w) for _i, m, w in REFUSALS], ids=[i for i, _m, _w in REFUSALS]
)
def test_refusals(key: DPoPKey, make: Any, words: str) -> None:
    with pytest.raises(ProofError, match=words):
        check(make(key))


@pytest.mark.parametrize(
    "htu",
    [
        "HTTP://LOCALHOST/oauth/token",
        "http://LocalHost:80/oauth/token",
        "http://localhost/oauth/token?x=1",
        "http://localhost/oauth/token#frag",
        "http://localhost/oauth/./token",
        "http://localhost/oauth/x/../token",
        "http://localhost/%6Fauth/token",
    ],
    ids=[
        "scheme-host-case",
        "default-port",
        "query",
        "fragment",
        "dot",
        "dot-dot",
        "percent-unreserved",
    ],
)
def test_htu_is_compared_normalized(key: DPoPKey, htu: str) -> None:
    """§4.3: syntax- and scheme-based normalization (RFC 3986 §6.2.2, §6.2.3)."""
    assert check(key.proof(url=htu)).jkt == key.jkt


@pytest.mark.parametrize(
    ("uri", "normal"),
    [
        ("https://CX.Example:443/a/b", "https://cx.example/a/b"),
        ("https://cx.example:8443/a", "https://cx.example:8443/a"),
        ("http://cx.example", "http://cx.example/"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("http://cx.example/a%2fb", "http://cx.example/a%2Fb"),
        ("ftp://cx.example/a", None),
        ("http://cx.example:99999/a", None),
        ("cx.example/a", None),
    ],
)
def test_normalize_uri(uri: str, normal: str | None) -> None:
    assert dpop.normalize_uri(uri) == normal


def test_ath_is_checked_when_an_access_token_is_given(key: DPoPKey) -> None:
    good = key.proof("GET", TOKEN_URL, access_token="the-token")
    assert check(good, method="GET", access_token="the-token").jkt == key.jkt
    with pytest.raises(ProofError, match="ath"):
        check(good, method="GET", access_token="another-token")
    with pytest.raises(ProofError, match="ath"):
        check(key.proof("GET", TOKEN_URL), method="GET", access_token="the-token")
    with pytest.raises(ProofError, match="ath"):
        check(key.proof("GET", TOKEN_URL, ath=ath("x")), method="GET", access_token="the-token")


def test_iat_window_edges(key: DPoPKey) -> None:
    now = time.time()
    assert check(key.proof(iat=int(now) - 59), now=now)
    assert check(key.proof(iat=int(now) + 4), now=now)


async def test_memory_replay_cache_refuses_a_second_use_until_it_expires() -> None:
    cache = MemoryReplayCache()
    assert await cache.first_use("a", 60)
    assert not await cache.first_use("a", 60)
    assert await cache.first_use("b", 60)
    short = MemoryReplayCache()
    assert await short.first_use("c", 0)
    assert await short.first_use("c", 0)  # expired at once


async def test_memory_replay_cache_is_bounded() -> None:
    cache = MemoryReplayCache(size=3)
    for name in "abcd":
        assert await cache.first_use(name, 60)
    assert len(cache._seen) == 3
    assert await cache.first_use("a", 60)  # the oldest was forgotten


def test_nonces_are_stateless_per_tenant_and_expire() -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    one, two = Nonces("secret-a", 300), Nonces("secret-a", 300)  # two processes
    now = 1_000_000.0
    nonce = one.current(tenant, now)
    assert two.accepts(nonce, tenant, now)
    assert two.accepts(nonce, tenant, now + 300)  # the next slot still takes it
    assert not two.accepts(nonce, tenant, now + 600)
    assert not two.accepts(nonce, other, now)
    assert not Nonces("secret-b", 300).accepts(nonce, tenant, now)
    assert not one.accepts("made-up", tenant, now)
