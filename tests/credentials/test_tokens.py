"""Access tokens: round trips, the size budget, and every hostile token we could think of."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from passgate.credentials.keys import KeyRing, SigningKey, new_signing_key
from passgate.credentials.tokens import AccessClaims, AccessTokenCodec, VerifiedTokenCache
from passgate.errors import ConfigError, TokenExpired, TokenInvalid
from passgate.web.problems import from_error

ISSUER, AUDIENCE, TTL = "http://127.0.0.1:8000", "passgate", 600.0
ALGS = ("EdDSA", "ES256", "HS256")
SUB, SID = "u" * 22, "s" * 22  # the size of passgate's ids (128 bits, base64url)


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def segment(value: dict[str, Any] | str | bytes) -> str:
    return b64(dumps(value) if isinstance(value, dict) else value)


def sign(key: SigningKey, header: dict[str, Any] | str | bytes, payload: dict[str, Any] | str | bytes) -> str:
    """A token properly signed by ``key``: only what the test changed is wrong with it."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = jwt.PyJWS().get_algorithm_by_name(key.alg).sign(signing_input.encode(), key.signing_key)
    return f"{signing_input}.{b64(signature)}"


@dataclass
class Setup:
    ring: KeyRing
    codec: AccessTokenCodec
    clock: list[float]

    @property
    def key(self) -> SigningKey:
        return self.ring.current

    @property
    def header(self) -> dict[str, Any]:
        return {"alg": self.ring.alg, "kid": self.key.kid, "typ": "at+jwt"}

    @property
    def claims(self) -> dict[str, Any]:
        now = int(self.clock[0])
        return {"iss": ISSUER, "aud": AUDIENCE, "sub": SUB, "exp": now + 600, "iat": now, "jti": "j" * 16,
                "sid": SID}  # fmt: skip

    def good(self) -> str:
        return sign(self.key, self.header, self.claims)

    def with_header(self, **members: Any) -> str:
        return sign(self.key, {**self.header, **members}, self.claims)

    def with_claims(self, **claims: Any) -> str:
        return sign(self.key, self.header, {**self.claims, **claims})

    def without(self, name: str) -> str:
        return sign(self.key, self.header, {k: v for k, v in self.claims.items() if k != name})


@pytest.fixture(params=ALGS)
def setup(request: pytest.FixtureRequest, clock: list[float]) -> Setup:
    previous = new_signing_key(request.param, created_at=clock[0] - 100)
    ring = KeyRing.of(new_signing_key(request.param, created_at=clock[0]), previous)
    codec = AccessTokenCodec(issuer=ISSUER, audience=AUDIENCE, access_ttl=TTL, clock=lambda: clock[0])
    return Setup(ring, codec, clock)


def refused(setup: Setup, token: object) -> str:
    """The token is answered with TokenInvalid and nothing else, whose detail is the same for
    every invalid token (no oracle, RFC 8725 §3); its reason, for the log, never carries the token."""
    with pytest.raises(TokenInvalid) as caught:
        setup.codec.verify(setup.ring, cast(str, token))
    assert not isinstance(caught.value, TokenExpired)
    assert caught.value.detail == str(caught.value) == TokenInvalid().detail
    reason = caught.value.reason
    assert reason and reason != caught.value.detail
    if isinstance(token, str) and len(token) > 8:
        assert token not in reason and token[-8:] not in reason
    return reason


# -- what a genuine token looks like --------------------------------------------------------------


def test_round_trip(setup: Setup) -> None:
    token, exp = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    claims = setup.codec.verify(setup.ring, token)
    assert claims == AccessClaims(sub=SUB, sid=SID, jti=claims.jti, iat=int(setup.clock[0]), exp=exp)
    assert exp == int(setup.clock[0]) + int(TTL)
    assert 12 <= len(claims.jti) <= 22


def test_header_and_claims_are_exactly_the_contract(setup: Setup) -> None:
    token, _ = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": setup.ring.alg, "typ": "at+jwt", "kid": setup.key.kid}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "exp", "iat", "jti", "sid"}


def test_token_size(setup: Setup) -> None:
    token, _ = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    print(f"{setup.ring.alg} access token: {len(token)} bytes")
    # The contract's budget.  EdDSA and ES256 signatures are 64 bytes (86 characters) and the
    # seven claims alone encode to ~230, so ~370 is as small as these claims get.
    assert len(token) < 400


def test_other_libraries_verify_our_tokens(setup: Setup) -> None:
    token, _ = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    jwk = setup.key.public_jwk
    key: Any = jwt.PyJWK(dict(jwk)).key if jwk else setup.key.verifying_key
    options: Any = {"verify_exp": False}  # our clock is frozen in 1970
    payload = jwt.decode(
        token, key, algorithms=[setup.ring.alg], audience=AUDIENCE, issuer=ISSUER, options=options
    )
    assert payload["sub"] == SUB


def test_a_previous_key_of_the_ring_still_verifies(setup: Setup) -> None:
    old = next(key for key in setup.ring.keys.values() if key is not setup.key)
    claims = setup.codec.verify(setup.ring, sign(old, {**setup.header, "kid": old.kid}, setup.claims))
    assert (claims.sub, claims.sid) == (SUB, SID)


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_typ_is_a_case_insensitive_media_type(setup: Setup, typ: str) -> None:
    assert setup.codec.verify(setup.ring, setup.with_header(typ=typ)).sub == SUB


def test_audience_may_be_a_list_with_ours(setup: Setup) -> None:
    assert setup.codec.verify(setup.ring, setup.with_claims(aud=["other", AUDIENCE])).sid == SID


def test_leeway_tolerates_small_clock_differences(setup: Setup) -> None:
    early = setup.with_claims(iat=int(setup.clock[0]) + 20, exp=int(setup.clock[0]) + 620)
    assert setup.codec.verify(setup.ring, early).iat == int(setup.clock[0]) + 20
    token, exp = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    setup.clock[0] = exp + 29
    assert setup.codec.verify(setup.ring, token).exp == exp


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        AccessTokenCodec(issuer=ISSUER, audience=AUDIENCE, access_ttl=TTL, leeway=31)
    with pytest.raises(ConfigError):
        AccessTokenCodec(issuer=ISSUER, audience=AUDIENCE, access_ttl=0.5)
    with pytest.raises(ConfigError):
        AccessTokenCodec(issuer="", audience=AUDIENCE, access_ttl=TTL)


# -- time -----------------------------------------------------------------------------------------


def test_expired(setup: Setup) -> None:
    token, exp = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    setup.clock[0] = exp + 30
    with pytest.raises(TokenExpired):
        setup.codec.verify(setup.ring, token)


def test_issued_in_the_future(setup: Setup) -> None:
    now = int(setup.clock[0])
    refused(setup, setup.with_claims(iat=now + 31, exp=now + 600))


@pytest.mark.parametrize("ahead", [31, 60, 599, 10**6])
def test_not_before_in_the_future(setup: Setup, ahead: int) -> None:
    # passgate never issues nbf, but a token that carries one is not valid before it (RFC 7519 §4.1.5).
    refused(setup, setup.with_claims(nbf=int(setup.clock[0]) + ahead))


@pytest.mark.parametrize("behind", [-30, 0, 1, 10**6])
def test_not_before_in_the_past_or_within_the_leeway(setup: Setup, behind: int) -> None:
    assert setup.codec.verify(setup.ring, setup.with_claims(nbf=int(setup.clock[0]) - behind)).sid == SID


def test_not_before_the_end_of_its_life(setup: Setup) -> None:
    now = int(setup.clock[0])
    refused(setup, setup.with_claims(iat=now - 590, exp=now + 10, nbf=now + 10))  # valid at no instant


@pytest.mark.parametrize(("iat", "exp"), [(0, 601), (0, 10**9), (0, 0), (10, 5)])
def test_lifetime_must_fit_access_ttl(setup: Setup, iat: int, exp: int) -> None:
    now = int(setup.clock[0])
    refused(setup, setup.with_claims(iat=now + iat, exp=now + exp))


# -- the algorithm and the key are never the token's choice ----------------------------------------


@pytest.mark.parametrize("none", ["none", "None", "NONE", "nOnE"])
def test_alg_none(setup: Setup, none: str) -> None:
    unsigned = f"{segment({**setup.header, 'alg': none})}.{segment(setup.claims)}"
    for token in (unsigned + ".", unsigned, unsigned + "." + b64(b"x" * 64)):
        refused(setup, token)


def test_stripped_signature(setup: Setup) -> None:
    header, payload, _ = setup.good().split(".")
    refused(setup, f"{header}.{payload}.")
    refused(setup, f"{header}.{payload}")


def test_tampered_payload(setup: Setup) -> None:
    header, _, signature = setup.good().split(".")
    refused(setup, f"{header}.{segment({**setup.claims, 'sub': 'admin'})}.{signature}")


@pytest.mark.parametrize("form", ["pem", "jwk"])
@pytest.mark.parametrize("header_alg", ["HS256", "ring"])
def test_hmac_with_the_public_key(setup: Setup, form: str, header_alg: str) -> None:
    if setup.key.public_jwk is None:
        pytest.skip("an HS256 ring has no public key")
    public = cast(Any, setup.key.verifying_key)
    secret = (
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        if form == "pem"
        else json.dumps(dict(setup.key.public_jwk)).encode()
    )
    alg = "HS256" if header_alg == "HS256" else setup.ring.alg
    signing_input = f"{segment({**setup.header, 'alg': alg})}.{segment(setup.claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    refused(setup, f"{signing_input}.{b64(signature)}")


@pytest.mark.parametrize("alg", ALGS)
def test_key_of_another_family_under_our_kid(setup: Setup, alg: str) -> None:
    intruder = new_signing_key(cast(Any, alg), created_at=0, kid=setup.key.kid)
    refused(setup, sign(intruder, {**setup.header, "alg": alg}, setup.claims))


def test_embedded_jwk(setup: Setup) -> None:
    intruder = new_signing_key("EdDSA", created_at=0)
    jwk = dict(intruder.public_jwk or {})
    header = {"alg": "EdDSA", "typ": "at+jwt", "jwk": jwk}
    refused(setup, sign(intruder, {**header, "kid": intruder.kid}, setup.claims))
    refused(setup, sign(intruder, header, setup.claims))
    refused(setup, setup.with_header(jwk=jwk))


@pytest.mark.parametrize(
    "members",
    [
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
        {"x5c": ["MIIB"]},
        {"crit": ["exp-but-unknown"], "exp-but-unknown": 1},
        {"crit": []},
        {"b64": False, "crit": ["b64"]},
        {"b64": False},
        {"cty": "JWT"},
    ],
)
def test_refused_header_members_even_when_signed_by_our_key(setup: Setup, members: dict[str, Any]) -> None:
    refused(setup, setup.with_header(**members))


@pytest.mark.parametrize(
    "kid",
    ["../../etc/passwd", "' OR 1=1 --", "x" * 10_000, "", 123, None, True, ["kid"], {"kid": "k"}, 1.5],
)
def test_hostile_kids(setup: Setup, kid: Any) -> None:
    refused(setup, setup.with_header(kid=kid))


def test_missing_kid_and_alg(setup: Setup) -> None:
    refused(setup, sign(setup.key, {"alg": setup.ring.alg, "typ": "at+jwt"}, setup.claims))
    refused(setup, sign(setup.key, {"kid": setup.key.kid, "typ": "at+jwt"}, setup.claims))


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt ", "application/jwt", "", None, 1])
def test_wrong_typ(setup: Setup, typ: Any) -> None:
    refused(setup, setup.with_header(typ=typ))


def test_missing_typ(setup: Setup) -> None:
    refused(setup, sign(setup.key, {"alg": setup.ring.alg, "kid": setup.key.kid}, setup.claims))


# -- claims ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iss", "aud", "sub", "exp", "iat", "jti", "sid"])
def test_every_claim_is_required(setup: Setup, name: str) -> None:
    refused(setup, setup.without(name))


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "http://evil.example"},
        {"iss": ISSUER + "/"},
        {"aud": "other"},
        {"aud": []},
        {"aud": ["other"]},
        {"aud": [AUDIENCE, 1]},
        {"aud": None},
        {"sub": ""},
        {"jti": ""},
        {"sid": ""},
        {"sub": None},
        {"sub": 42},
        {"sid": ["s"]},
        {"jti": {"a": 1}},
        {"exp": True},
        {"iat": False},
        {"exp": 1_000_600.0},
        {"exp": "1000600"},
        {"exp": -1},
        {"iat": 2**64},
        {"iat": None},
        {"nbf": None},
        {"nbf": True},
        {"nbf": "0"},
        {"nbf": 999_999.5},
        {"nbf": -1},
        {"nbf": 2**64},
        {"nbf": [0]},
        {"iss": None},
        {"iss": ["http://127.0.0.1:8000"]},
        {"aud": {"aud": AUDIENCE}},
        {"aud": ""},
    ],
    ids=repr,
)
def test_bad_claims(setup: Setup, claims: dict[str, Any]) -> None:
    refused(setup, setup.with_claims(**claims))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1.0e9"])
@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
def test_non_integer_numbers(setup: Setup, name: str, number: str) -> None:
    payload = dumps({**setup.claims, name: 0}).replace(f'"{name}":0', f'"{name}":{number}')
    refused(setup, sign(setup.key, setup.header, payload))


def test_duplicated_json_members(setup: Setup) -> None:
    refused(setup, sign(setup.key, setup.header, dumps(setup.claims)[:-1] + ',"sub":"admin"}'))
    refused(setup, sign(setup.key, dumps(setup.header)[:-1] + ',"alg":"none"}', setup.claims))


def test_deeply_nested_json(setup: Setup) -> None:
    deep = ',"x":' + "[" * 1400 + "]" * 1400 + "}"
    refused(setup, sign(setup.key, setup.header, dumps(setup.claims)[:-1] + deep))
    refused(setup, sign(setup.key, dumps(setup.header)[:-1] + deep, "{}"))


@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", "", "{", "\ufeff{}", "{'a':1}"])
def test_header_or_payload_not_a_json_object(setup: Setup, body: str) -> None:
    refused(setup, sign(setup.key, setup.header, body))
    refused(setup, sign(setup.key, body, setup.claims))


def test_invalid_utf8(setup: Setup) -> None:
    refused(setup, sign(setup.key, setup.header, b'{"sub":"\xff"}'))
    refused(setup, sign(setup.key, b'{"alg":"\xff"}', setup.claims))


# -- shapes that are not a compact JWS ------------------------------------------------------------


def test_not_tokens(setup: Setup) -> None:
    good = setup.good()
    header, payload, signature = good.split(".")
    hostile = [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        secrets.token_urlsafe(32),  # an opaque refresh token
        f"{b64(secrets.token_bytes(16))}.{b64(secrets.token_bytes(16))}.{b64(secrets.token_bytes(32))}",
        secrets.token_hex(64),
        f"{good}.{b64('x')}.{b64('y')}",  # JWE-shaped: five segments
        f"{segment({'alg': 'RSA-OAEP', 'enc': 'A256GCM'})}.a.b.c.d",
        json.dumps({"protected": header, "payload": payload, "signature": signature}),
        json.dumps({"payload": payload, "signatures": [{"protected": header, "signature": signature}]}),
        f"{header}=.{payload}.{signature}",
        f"{header}.{payload}.{signature}==",
        f"{header}.{payload}.{signature}=",
        f"{header}.{payload}.{signature[:-1]}",  # length 1 mod 4 or wrong bytes
        f"{header}.{payload}.{signature}A",
        f"{header}.{payload}.{signature}.",
        f" {good}",
        f"{good}\n",
        good.replace("-", "+").replace("_", "/") + "+/",
        f"{header}.{payload}.!!!!",
        f"{header}.{payload}.{signature[:10]}\u00e9{signature[11:]}",
        f"{header}.{payload}.\ud800",
        f"Bearer {good}",
        "x" * 100_000,
        good + "A" * 100_000,
        "a." * 50_000,
    ]
    for token in hostile:
        refused(setup, token)


@pytest.mark.parametrize("value", [None, 42, b"a.b.c", ["a", "b", "c"], {"token": "x"}, 1.5])
def test_not_even_strings(setup: Setup, value: object) -> None:
    refused(setup, value)


def test_non_canonical_base64(setup: Setup) -> None:
    header, payload, signature = setup.good().split(".")
    if len(signature) % 4 == 0:
        pytest.skip("no spare bits in this signature's encoding")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[(alphabet.index(signature[-1]) + 1) % 64]
    refused(setup, f"{header}.{payload}.{signature[:-1]}{last}")


def test_fuzz_never_raises_anything_else(setup: Setup) -> None:
    rng = random.Random(20240601)
    good = setup.good()
    alphabet = "ABCxyz019-_.=+/ \u00e9\x00{}\"'"
    for _ in range(3000):
        chars = list(good)
        for _ in range(rng.randint(1, 4)):
            op, at = rng.random(), rng.randrange(len(chars))
            if op < 0.5:
                chars[at] = rng.choice(alphabet)
            elif op < 0.75:
                del chars[at]
            else:
                chars.insert(at, rng.choice(alphabet))
        token = "".join(chars)
        if token != good:
            refused(setup, token)
    for _ in range(500):
        refused(setup, "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400))))


# -- the cache of verified tokens -----------------------------------------------------------------


def claims_of(sid: str, exp: int = 1_000_600) -> AccessClaims:
    return AccessClaims(sub=SUB, sid=sid, jti=secrets.token_urlsafe(12), iat=1_000_000, exp=exp)


@pytest.fixture
def cache(clock: list[float]) -> VerifiedTokenCache:
    return VerifiedTokenCache(max_entries=3, clock=lambda: clock[0])


def test_cache_hit_and_miss(cache: VerifiedTokenCache) -> None:
    claims = claims_of("s1")
    cache.put("t1", claims)
    assert cache.get("t1") is claims
    assert cache.get("t2") is None


def test_cache_entry_lives_until_exp(cache: VerifiedTokenCache, clock: list[float]) -> None:
    cache.put("t1", claims_of("s1", exp=int(clock[0]) + 10))
    clock[0] += 9.9
    assert cache.get("t1") is not None
    clock[0] += 0.1
    assert cache.get("t1") is None
    assert len(cache) == 0
    cache.put("t2", claims_of("s1", exp=int(clock[0])))
    assert len(cache) == 0


def test_cache_is_bounded_least_recently_used_first(cache: VerifiedTokenCache) -> None:
    for name in ("t1", "t2", "t3"):
        cache.put(name, claims_of(name))
    assert cache.get("t1") is not None  # t2 is now the least recently used
    cache.put("t4", claims_of("t4"))
    assert len(cache) == 3
    assert cache.get("t2") is None
    assert all(cache.get(name) for name in ("t1", "t3", "t4"))
    assert cache.discard_sid("t2") == 0  # the evicted entry left the sid index too


def test_cache_discard_sid(cache: VerifiedTokenCache) -> None:
    cache.put("a1", claims_of("login-a"))
    cache.put("a2", claims_of("login-a"))
    cache.put("b1", claims_of("login-b"))
    assert cache.discard_sid("login-a") == 2
    assert cache.get("a1") is None and cache.get("a2") is None
    assert cache.get("b1") is not None
    assert cache.discard_sid("login-a") == 0


def test_cache_clear(cache: VerifiedTokenCache) -> None:
    cache.put("t1", claims_of("s1"))
    cache.clear()
    assert cache.get("t1") is None and len(cache) == 0


@pytest.mark.parametrize("token", ["x" * 100_000, "\u00e9", "\ud800", None, 42])
def test_cache_takes_any_input(cache: VerifiedTokenCache, token: Any) -> None:
    cache.put(token, claims_of("s1"))
    assert cache.get(token) is None


def test_cache_refuses_a_token_not_yet_valid(cache: VerifiedTokenCache, clock: list[float]) -> None:
    # One the codec accepted within the leeway of its nbf: the cache would serve it without
    # looking at nbf again, so it keeps only tokens whose nbf has passed.
    ahead = AccessClaims(sub=SUB, sid="s1", jti="j", iat=int(clock[0]), exp=int(clock[0]) + 600,
                         nbf=int(clock[0]) + 20)
    cache.put("t1", ahead)
    assert cache.get("t1") is None and len(cache) == 0
    clock[0] += 20
    cache.put("t1", ahead)
    assert cache.get("t1") is ahead


def test_cache_with_codec(setup: Setup) -> None:
    big = VerifiedTokenCache(clock=lambda: setup.clock[0])
    token, _ = setup.codec.issue(setup.ring, sub=SUB, sid=SID)
    verify: Callable[[str], AccessClaims] = lambda t: big.get(t) or setup.codec.verify(setup.ring, t)  # noqa: E731
    claims = verify(token)
    big.put(token, claims)
    assert verify(token) is claims

    nbf = setup.with_claims(nbf=int(setup.clock[0]) + 20)
    claims = setup.codec.verify(setup.ring, nbf)
    assert claims.nbf == int(setup.clock[0]) + 20
    big.put(nbf, claims)
    assert big.get(nbf) is None


# -- one answer for every invalid token, the reason in the log -------------------------------------


def test_every_refusal_answers_alike_and_logs_only_its_reason(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(setup.clock[0])
    header, payload, signature = setup.good().split(".")
    forged = ("B" if signature[0] != "B" else "C") + signature[1:]  # another first byte, always
    hostile = [
        "not-a-token", f"{header}.{payload}.{forged}", setup.with_header(alg="none"),
        setup.with_header(kid="unknown"), setup.with_header(typ="JWT"), setup.without("sid"),
        setup.with_claims(exp=str(now + 600)), setup.with_claims(nbf=now + 3600),
        setup.with_claims(iss="http://evil.example"), setup.with_claims(aud="other"),
    ]
    reasons = [refused(setup, token) for token in hostile]
    assert len(set(reasons)) >= 8  # the log tells them apart; the answer does not
    caplog.set_level(logging.INFO, logger="passgate.tokens")
    answers = set()
    for token in hostile:
        with pytest.raises(TokenInvalid) as caught:
            setup.codec.verify(setup.ring, token)
        response = from_error(caught.value)
        answers.add((response.status_code, bytes(response.body), response.headers["www-authenticate"]))
    assert len(answers) == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "passgate.tokens"]
    assert len(logged) == len(hostile) and all(reason in " ".join(logged) for reason in reasons)
    assert all(r.levelno <= logging.INFO for r in caplog.records if r.name == "passgate.tokens")
    assert not any(part in line for line in logged for token in hostile for part in token.split(".") if len(part) > 8)
    expired = sign(setup.key, setup.header, {**setup.claims, "iat": now - 700, "exp": now - 100})
    with pytest.raises(TokenExpired) as late:
        setup.codec.verify(setup.ring, expired)
    assert bytes(from_error(late.value).body) not in {answer[1] for answer in answers}  # the contract tells it apart
