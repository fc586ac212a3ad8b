"""The ``Authorization: Bearer`` transport."""

from __future__ import annotations

import pytest

from passgate.errors import MalformedRequest, TokenInvalid
from passgate.transports import BearerTransport
from passgate.transports.bearer import MAX_TOKEN
from tests.transports.contract import CREDENTIAL, TransportContract, head


class TestBearerTransport(TransportContract):
    transport = BearerTransport()

    def carrying(self, value: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {value}")]


def test_the_scheme_is_case_insensitive_and_spaces_are_trimmed() -> None:
    assert BearerTransport().read(head(("authorization", f"  bEaReR   {CREDENTIAL} "))) == CREDENTIAL


@pytest.mark.parametrize(
    "value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", f"Bearer {'a' * (MAX_TOKEN + 1)}"]
)
def test_another_scheme_or_a_malformed_token_is_an_invalid_credential(value: str) -> None:
    with pytest.raises(TokenInvalid):
        BearerTransport().read(head(("authorization", value)))


def test_two_authorization_headers_are_a_malformed_request() -> None:
    with pytest.raises(MalformedRequest):
        BearerTransport().read(head(*[("authorization", f"Bearer {CREDENTIAL}")] * 2))


def test_the_challenge_never_breaks_its_quoting() -> None:
    challenge = BearerTransport().challenge("invalid_token", 'say "hi" \\ there')
    assert challenge == 'Bearer realm="passgate", error="invalid_token", error_description="say \'hi\'  there"'
