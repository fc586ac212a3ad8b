"""The suite every transport passes; each transport binds it with a three-line subclass.

A transport reads its credential from the request head that :func:`read_head` makes once per
request, finds nothing when the request does not carry it that way, and is not fooled by lookalikes.
"""

from __future__ import annotations

from typing import ClassVar

from starlette.types import Scope

from passgate.transports import RequestHead, Transport, read_head

CREDENTIAL = "uuuuuuuuuuuuuuuuuuuuuu.llllllllllllllllllllll." + "s" * 43


def scope(*headers: tuple[str, str]) -> Scope:
    return {"type": "http", "method": "GET", "headers": [(n.encode(), v.encode("latin-1")) for n, v in headers]}


class TransportContract:
    transport: ClassVar[Transport]

    def carrying(self, value: str) -> list[tuple[str, str]]:
        """The headers that carry ``value`` this way."""
        raise NotImplementedError

    def read(self, *headers: tuple[str, str]) -> str | None:
        return self.transport.read(read_head(scope(*headers)))

    def test_it_reads_what_it_carries(self) -> None:
        assert self.read(*self.carrying(CREDENTIAL)) == CREDENTIAL

    def test_nothing_carried_is_none(self) -> None:
        assert self.read() is None
        assert self.read(("accept", "*/*"), ("user-agent", CREDENTIAL)) is None

    def test_other_headers_around_it_change_nothing(self) -> None:
        headers = [("accept", "*/*"), *self.carrying(CREDENTIAL), ("x-csrf-token", "t"), ("content-length", "0")]
        assert self.read(*headers) == CREDENTIAL

    def test_the_head_is_read_once_per_request(self) -> None:
        request = scope(*self.carrying(CREDENTIAL))
        head = read_head(request)
        request["headers"] = []  # a second pass would find nothing
        assert read_head(request) is head
        assert self.transport.read(head) == CREDENTIAL

    def test_a_challenge_is_text_or_none(self) -> None:
        challenge = self.transport.challenge()
        assert challenge is None or (challenge and "\n" not in challenge)



def head(*headers: tuple[str, str]) -> RequestHead:
    return read_head(scope(*headers))
