"""The ``Authorization: DPoP`` transport and its ``DPoP`` proof header."""

from __future__ import annotations

import pytest

from passgate.errors import InvalidDpopProof, MalformedRequest, TokenInvalid
from passgate.transports import DpopTransport
from passgate.transports.bearer import MAX_TOKEN
from tests.transports.contract import CREDENTIAL, TransportContract, head


class TestDpopTransport(TransportContract):
    transport = DpopTransport()

    def carrying(self, value: str) -> list[tuple[str, str]]:
        return [("authorization", f"DPoP {value}")]


def test_other_schemes_are_not_its_business() -> None:
    for value in (f"Bearer {CREDENTIAL}", "Basic dXNlcjpwYXNz", "DPoPx abc", "DPoP"):
        assert DpopTransport().read(head(("authorization", value))) is None


def test_the_scheme_is_case_insensitive() -> None:
    assert DpopTransport().read(head(("authorization", f" dpop   {CREDENTIAL} "))) == CREDENTIAL


@pytest.mark.parametrize("value", ["DPoP  ", f"DPoP {'a' * (MAX_TOKEN + 1)}"])
def test_a_malformed_token_is_an_invalid_credential(value: str) -> None:
    with pytest.raises(TokenInvalid):
        DpopTransport().read(head(("authorization", value)))


def test_two_authorization_headers_are_a_malformed_request() -> None:
    with pytest.raises(MalformedRequest):
        DpopTransport().read(head(("authorization", f"DPoP {CREDENTIAL}"), ("authorization", f"DPoP {CREDENTIAL}")))


def test_the_proof_header() -> None:
    transport = DpopTransport()
    assert transport.proof(head()) is None
    assert transport.proof(head(("dpop", " a.b.c "))) == "a.b.c"
    for proofs in (("a.b.c", "d.e.f"), ("a.b.c, d.e.f",), ("",), ("x" * 5000,)):
        with pytest.raises(InvalidDpopProof):
            transport.proof(head(*(("dpop", proof) for proof in proofs)))


def test_the_challenge_lists_the_algorithms() -> None:
    assert DpopTransport().challenge() == 'DPoP algs="ES256 EdDSA"'
    assert DpopTransport().challenge("invalid_dpop_proof") == 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'
