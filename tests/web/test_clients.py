"""The client's address: the peer, unless a proxy the deployment trusts says whom it forwards for."""

from __future__ import annotations

import pytest
from starlette.types import Scope

from passgate.config import load_settings
from passgate.errors import ConfigError
from passgate.web.clients import ClientAddresses


def scope(peer: str, forwarded_for: str | None = None) -> Scope:
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for is not None else []
    return {"type": "http", "client": (peer, 5000), "headers": headers}


def test_by_default_nothing_forwarded_is_believed() -> None:
    assert ClientAddresses().address(scope("127.0.0.1", "203.0.113.9")) == "127.0.0.1"


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
    ("127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the rightmost hop not a proxy
    ("127.0.0.1", "203.0.113.9, 10.0.0.2", "203.0.113.9"),  # 10.0.0.2 is a proxy too
    ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
    ("127.0.0.1", "not-an-address", "127.0.0.1"),
    ("127.0.0.1", "", "127.0.0.1"),
    ("127.0.0.1", None, "127.0.0.1"),
    ("192.0.2.7", "203.0.113.9", "192.0.2.7"),  # not a trusted proxy: its header is anyone's
])
def test_behind_a_trusted_proxy_the_client_it_forwards_for(peer: str, forwarded: str | None, client: str) -> None:
    assert ClientAddresses(["127.0.0.1", "10.0.0.0/8"]).address(scope(peer, forwarded)) == client


def test_a_bad_proxy_address_is_refused_when_the_settings_are_made() -> None:
    with pytest.raises(ConfigError):
        load_settings(env=False, trusted_proxies="127.0.0.1,not-a-network")
    assert load_settings(env=False, trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxies == (
        "127.0.0.1", "10.0.0.0/8")
