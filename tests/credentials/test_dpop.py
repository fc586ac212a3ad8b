"""DPoP proofs (RFC 9449): every malformed, forged, stale or replayed proof is refused; good ones pass once."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from passgate.credentials.dpop import Nonces, ProofVerifier, normal_uri, thumbprint, token_hash
from passgate.errors import InvalidDpopProof, StoreUnavailable, UseDpopNonce
from passgate.stores import MemoryStore, SqliteStore, Store
from tests.dpop import Key, b64, compact

NOW = 1_800_000_000.0
URL = "https://board.test/api/me"
TOKEN = "aaaa.bbbb.cccc"


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


@pytest.fixture
async def store(clock: list[float], tmp_path: Path) -> AsyncIterator[Store]:
    """A store that nodes share (SQLite): what the replay memory is written to."""
    shared = SqliteStore(tmp_path / "state.db", clock=lambda: clock[0])
    yield shared
    await shared.aclose()


@pytest.fixture
def proofs(store: Store, clock: list[float]) -> ProofVerifier:
    return ProofVerifier(store, clock=lambda: clock[0])


@pytest.fixture(scope="module")
def key() -> Key:
    return Key()


def check(proofs: ProofVerifier, proof: str, method: str = "GET", uri: str = URL, token: str | None = TOKEN) -> Any:
    return proofs.check(proof, method=method, uri=uri, access_token=token)


def refused(proofs: ProofVerifier, proof: str, **request: Any) -> str:
    with pytest.raises(InvalidDpopProof) as caught:
        check(proofs, proof, **request)
    assert caught.value.detail == InvalidDpopProof.DETAIL and (len(proof) < 8 or proof not in str(caught.value))
    return caught.value.reason


# -- hostile input -------------------------------------------------------------------------------

@pytest.mark.parametrize("proof", [
    "", "x", "a.b", "a.b.c.d", "a..c", "é.b.c", "a b.c.d", "!!!.b.c", "a" * 5000 + ".b.c",
    b64(b"[]") + "." + b64(b"{}") + ".AA", b64(b"not json") + "." + b64(b"{}") + ".AA",
    b64(b'{"typ":"dpop+jwt","typ":"dpop+jwt"}') + "." + b64(b"{}") + ".AA",
])
def test_malformed_proofs_are_refused(proofs: ProofVerifier, proof: str) -> None:
    refused(proofs, proof)


def _header(key: Key, **changes: Any) -> dict[str, Any]:
    header = {"typ": "dpop+jwt", "alg": key.alg, "jwk": key.jwk, **changes}
    return {name: value for name, value in header.items() if value is not None}


def _claims(**changes: Any) -> dict[str, Any]:
    claims = {"jti": "j-1", "htm": "GET", "htu": URL, "iat": int(NOW), "ath": token_hash(TOKEN), **changes}
    return {name: value for name, value in claims.items() if value is not None}


@pytest.mark.parametrize("changes", [
    {"typ": None}, {"typ": "JWT"}, {"typ": "at+jwt"}, {"typ": 1},
    {"alg": None}, {"alg": "none"}, {"alg": "HS256"}, {"alg": "RS256"}, {"alg": "ES384"}, {"alg": "EdDSA"},
    {"jwk": None}, {"jwk": "a key"}, {"jwk": []}, {"kid": "k1"}, {"crit": ["exp"]}, {"jku": "https://evil.test/k"},
    {"x5c": ["MIIB"]},
])
def test_headers_that_are_not_a_dpop_proofs_are_refused(proofs: ProofVerifier, key: Key, changes: Any) -> None:
    refused(proofs, compact(key, _header(key, **changes), _claims()))


def test_a_private_key_in_the_header_is_refused(proofs: ProofVerifier, key: Key) -> None:
    private = {**key.jwk, "d": b64(key.private.private_numbers().private_value.to_bytes(32, "big"))}
    refused(proofs, compact(key, _header(key, jwk=private), _claims()))


@pytest.mark.parametrize("changes", [
    {"kty": "RSA"}, {"kty": "OKP"}, {"crv": "P-384"}, {"crv": "secp256k1"}, {"x": "AAAA"}, {"y": None},
    {"x": 1}, {"n": "AQAB"}, {"alg": "ES512"},
])
def test_a_key_that_does_not_fit_is_refused(proofs: ProofVerifier, key: Key, changes: dict[str, Any]) -> None:
    jwk = {name: value for name, value in {**key.jwk, **changes}.items() if value is not None}
    refused(proofs, compact(key, _header(key, jwk=jwk), _claims()))


def test_a_point_off_the_curve_is_refused(proofs: ProofVerifier, key: Key) -> None:
    jwk = {**key.jwk, "y": b64(b"\x01" * 32)}
    refused(proofs, compact(key, _header(key, jwk=jwk), _claims()))


def test_a_proof_signed_by_another_key_than_its_header_names_is_refused(proofs: ProofVerifier, key: Key) -> None:
    assert "signature" in refused(proofs, compact(Key(), _header(key), _claims()))


def test_a_tampered_proof_is_refused(proofs: ProofVerifier, key: Key) -> None:
    header, _, signature = key.proof("GET", URL, token=TOKEN, iat=NOW).split(".")
    forged = b64(json.dumps(_claims(htm="DELETE")).encode())
    assert "signature" in refused(proofs, f"{header}.{forged}.{signature}", method="DELETE")


def test_a_signature_with_a_stray_bit_is_refused(proofs: ProofVerifier, key: Key) -> None:
    proof = key.proof("GET", URL, token=TOKEN, iat=NOW)
    head, body, signature = proof.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 1
    refused(proofs, f"{head}.{body}.{b64(bytes(raw))}")


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
@pytest.mark.parametrize("signature", [
    b"\x00" * 63, b"\x00" * 65, b"\x00" * 64, b"\xff" * 64, b"\x00" * 32 + b"\x01" * 32, b"\x01" * 128,
])
def test_a_signature_of_the_wrong_size_or_out_of_range_is_refused(
    proofs: ProofVerifier, alg: str, signature: bytes,
) -> None:
    head, body, _ = Key(alg).proof("GET", URL, token=TOKEN, iat=NOW).split(".")
    assert "signature" in refused(proofs, f"{head}.{body}.{b64(signature)}")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"jti": None}, "jti"), ({"jti": ""}, "jti"), ({"jti": 7}, "jti"), ({"jti": "j" * 257}, "jti"),
    ({"htm": None}, "method"), ({"htm": "POST"}, "method"), ({"htm": "get"}, "method"),
    ({"htu": None}, "URL"), ({"htu": "https://evil.test/api/me"}, "URL"), ({"htu": "http://board.test/api/me"}, "URL"),
    ({"htu": "https://board.test/api/me/password"}, "URL"), ({"htu": "https://board.test:8443/api/me"}, "URL"),
    ({"htu": "board.test/api/me"}, "URL"), ({"htu": 1}, "URL"),
    ({"iat": None}, "iat"), ({"iat": "1800000000"}, "iat"), ({"iat": True}, "iat"), ({"iat": 10**400}, "iat"),
    ({"iat": -1}, "iat"), ({"iat": int(NOW) - 61}, "fresh"), ({"iat": int(NOW) + 61}, "fresh"),
    ({"ath": None}, "access token"), ({"ath": token_hash("another.access.token")}, "access token"),
    ({"ath": token_hash(TOKEN) + "="}, "access token"),
])
def test_claims_that_do_not_fit_the_request_are_refused(
    proofs: ProofVerifier, key: Key, changes: dict[str, Any], reason: str,
) -> None:
    assert reason in refused(proofs, compact(key, _header(key), _claims(**changes)))


# -- what passes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_good_proof_names_its_key(proofs: ProofVerifier, alg: str) -> None:
    client = Key(alg)
    checked = check(proofs, client.proof("GET", URL, token=TOKEN, iat=NOW))
    assert checked.jkt == client.jkt and checked.iat == int(NOW)


def test_the_url_is_compared_as_rfc_9449_says(proofs: ProofVerifier, key: Key) -> None:
    for htu in ("HTTPS://Board.Test/api/me", "https://board.test:443/api/me", "https://board.test/api/me?x=1#f",
                "https://board.test/api/%6De"):
        assert check(proofs, key.proof("GET", htu, token=TOKEN, iat=NOW)).jkt == key.jkt
    assert normal_uri("http://h.test:80") == "http://h.test/"
    assert normal_uri("http://[::1]:8000/a") == "http://[::1]:8000/a"
    assert normal_uri("ftp://h.test/") is None and normal_uri("http://h.test:99999/") is None


def test_iat_within_the_window_either_way_and_a_number_may_have_a_fraction(proofs: ProofVerifier, key: Key) -> None:
    for iat in (NOW - 60, NOW + 60, NOW + 0.5):
        check(proofs, key.proof("GET", URL, token=TOKEN, iat=iat))


def test_webcrypto_exported_keys_pass(proofs: ProofVerifier, key: Key) -> None:
    jwk = {**key.jwk, "ext": True, "key_ops": ["verify"]}
    assert check(proofs, compact(key, _header(key, jwk=jwk), _claims())).jkt == key.jkt


def test_at_a_token_endpoint_no_ath_is_needed(proofs: ProofVerifier, key: Key) -> None:
    check(proofs, key.proof("POST", "https://board.test/api/token", iat=NOW), "POST",
          "https://board.test/api/token", None)


def test_the_thumbprint_is_rfc_7638s() -> None:
    # The key and thumbprint of RFC 9449's examples (§4.1, §6.1).
    jwk = {"kty": "EC", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
           "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "crv": "P-256"}
    assert thumbprint(jwk) == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    assert thumbprint({**jwk, "kid": "extra", "use": "sig"}) == thumbprint(jwk)


# -- replay ---------------------------------------------------------------------------------------

async def test_a_proof_is_accepted_once(proofs: ProofVerifier, key: Key) -> None:
    proof = key.proof("GET", URL, token=TOKEN, iat=NOW)
    await proofs.verify(proof, method="GET", uri=URL, access_token=TOKEN)
    with pytest.raises(InvalidDpopProof, match="not valid"):
        await proofs.verify(proof, method="GET", uri=URL, access_token=TOKEN)


async def test_another_node_refuses_the_replay(store: Store, clock: list[float], key: Key) -> None:
    one, two = (ProofVerifier(store, clock=lambda: clock[0]) for _ in range(2))
    proof = key.proof("GET", URL, token=TOKEN, iat=NOW)
    await one.verify(proof, method="GET", uri=URL, access_token=TOKEN)
    with pytest.raises(InvalidDpopProof) as caught:
        await two.verify(proof, method="GET", uri=URL, access_token=TOKEN)
    assert "before" in caught.value.reason


async def test_the_same_jti_by_another_key_is_another_proof(proofs: ProofVerifier, key: Key) -> None:
    for client in (key, Key()):
        await proofs.verify(client.proof("GET", URL, token=TOKEN, iat=NOW, jti="same"), method="GET", uri=URL,
                            access_token=TOKEN)


async def test_the_memory_outlives_the_window(store: Store, clock: list[float], key: Key) -> None:
    proofs = ProofVerifier(store, clock=lambda: clock[0])
    proof = key.proof("GET", URL, token=TOKEN, iat=NOW + 60)  # a client clock ahead: good until NOW + 120
    await proofs.verify(proof, method="GET", uri=URL, access_token=TOKEN)
    clock[0] += 119
    fresh_node = ProofVerifier(store, clock=lambda: clock[0])
    with pytest.raises(InvalidDpopProof):
        await fresh_node.verify(proof, method="GET", uri=URL, access_token=TOKEN)


class _DownStore(MemoryStore):
    shared = True

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        raise StoreUnavailable("down")


async def test_while_the_store_is_down_this_node_still_refuses_its_own_replays(
    clock: list[float], key: Key,
) -> None:
    proofs = ProofVerifier(_DownStore(clock=lambda: clock[0]), clock=lambda: clock[0])
    proof = key.proof("GET", URL, token=TOKEN, iat=NOW)
    with pytest.raises(StoreUnavailable):
        await proofs.verify(proof, method="GET", uri=URL, access_token=TOKEN)
    with pytest.raises(InvalidDpopProof):
        await proofs.verify(proof, method="GET", uri=URL, access_token=TOKEN)


def test_the_local_memory_is_bounded_beside_a_shared_store(store: Store, clock: list[float]) -> None:
    proofs = ProofVerifier(store, clock=lambda: clock[0], local_entries=3)
    for i in range(10):
        assert proofs._remember(bytes([i]), NOW + 60, NOW)
    assert len(proofs._seen) == 3


async def test_alone_the_local_memory_is_the_replay_memory(clock: list[float], key: Key) -> None:
    class Unwritten(MemoryStore):
        async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
            raise AssertionError("a store no other process shares is not written to")

    proofs = ProofVerifier(Unwritten(clock=lambda: clock[0]), clock=lambda: clock[0], local_entries=3)
    first = key.proof("GET", URL, token=TOKEN, iat=NOW)
    await proofs.verify(first, method="GET", uri=URL, access_token=TOKEN)
    for _ in range(10):  # past local_entries: alone, the memory keeps every live proof
        await proofs.verify(key.proof("GET", URL, token=TOKEN, iat=NOW), method="GET", uri=URL, access_token=TOKEN)
    with pytest.raises(InvalidDpopProof):
        await proofs.verify(first, method="GET", uri=URL, access_token=TOKEN)
    clock[0] += 66
    assert proofs._remember(b"later", NOW + 200, clock[0]) and len(proofs._seen) == 1


# -- server nonces ----------------------------------------------------------------------------------

SECRET = b"s" * 32


def test_nonces_are_good_for_their_period_and_the_next(clock: list[float]) -> None:
    nonces = Nonces(SECRET, period=300, clock=lambda: clock[0])
    nonce = nonces.current()
    assert nonces.valid(nonce) and nonces.current() == nonce
    clock[0] += 300
    assert nonces.valid(nonce) and nonces.current() != nonce
    clock[0] += 300
    assert not nonces.valid(nonce)


@pytest.mark.parametrize("nonce", [None, 7, "", ".", "abc", "1.x", "１.x", "9" * 65])
def test_forged_or_malformed_nonces_are_refused(clock: list[float], nonce: object) -> None:
    assert not Nonces(SECRET, clock=lambda: clock[0]).valid(nonce)


def test_a_nonce_of_another_deployment_or_a_changed_period_is_refused(clock: list[float]) -> None:
    ours, theirs = Nonces(SECRET, clock=lambda: clock[0]), Nonces(b"t" * 32, clock=lambda: clock[0])
    assert not ours.valid(theirs.current())
    number, _, mac = ours.current().partition(".")
    assert not ours.valid(f"{int(number) + 1}.{mac}")


def test_a_proof_without_the_nonce_is_told_the_nonce(store: MemoryStore, clock: list[float], key: Key) -> None:
    nonces = Nonces(SECRET, clock=lambda: clock[0])
    proofs = ProofVerifier(store, clock=lambda: clock[0], nonces=nonces)
    for claims in ({}, {"nonce": "0.AAAA"}):
        with pytest.raises(UseDpopNonce) as caught:
            check(proofs, key.proof("GET", URL, token=TOKEN, iat=NOW, claims=claims))
        assert caught.value.nonce == nonces.current() and caught.value.code == "use_dpop_nonce"
    assert check(proofs, key.proof("GET", URL, token=TOKEN, iat=NOW, claims={"nonce": nonces.current()})).jkt
    # A bad proof is refused as such before its nonce is looked at.
    with pytest.raises(InvalidDpopProof) as bad:
        check(proofs, key.proof("POST", URL, token=TOKEN, iat=NOW))
    assert type(bad.value) is InvalidDpopProof
