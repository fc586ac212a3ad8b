"""The request head: one pass over the raw headers, kept in the scope."""

from __future__ import annotations

from passgate.transports import read_head
from tests.transports.contract import scope


def test_every_header_passgate_reads_comes_from_the_one_pass() -> None:
    head = read_head(scope(
        ("Host", "board.test"), ("user-agent", "curl/8"), ("content-type", "application/json"),
        ("content-type", "text/plain"), ("origin", "http://a.test"), ("origin", "http://b.test"),
        ("x-csrf-token", "t1"), ("authorization", "Bearer a"), ("authorization", "Bearer b"),
        ("cookie", "a=1"), ("cookie", "b=2"), ("content-length", "1"), ("content-length", "2"),
        ("dpop", "p1"), ("dpop", "p2"),
    ))
    # Names arrive lower-cased from the server; scope() sends them as given, so "Host" is not "host".
    assert head.host == "" and head.user_agent == "curl/8" and head.content_type == "application/json"
    assert head.origin == "http://a.test" and head.csrf_token == "t1"  # the first, as Starlette's headers.get
    assert head.authorization == ("Bearer a", "Bearer b") and head.cookie == "a=1; b=2"
    assert head.content_length == b"2"  # the last, as the body guard always read it
    assert head.dpop == ("p1", "p2")  # all of them: two proofs are refused, never one picked


def test_nothing_sent_is_empty() -> None:
    head = read_head(scope())
    assert (head.authorization, head.authorizations, head.cookie, head.content_length) == ((), 0, "", None)
    assert (head.origin, head.csrf_token, head.host, head.user_agent, head.content_type) == (None, None, "", "", "")
    assert head.dpop == ()
