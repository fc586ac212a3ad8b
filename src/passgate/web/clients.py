"""Who sent a request: the client's address, as the login limit counts it and the device list shows it.

By default that is the peer of the connection, and ``Forwarded``/``X-Forwarded-For`` are never
believed: anyone can send them.  Behind a proxy every client would then share the proxy's address,
so ``--trusted-proxies`` names the proxies whose ``X-Forwarded-For`` is believed (as uvicorn's
``forwarded_allow_ips``): the client is the rightmost address in it that is not one of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

from passgate.credentials.opening import Client
from passgate.errors import ConfigError
from passgate.transports import read_head

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        try:
            self._trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"trusted proxies: {exc}") from None

    def _is_proxy(self, text: str) -> bool:
        address = _address(text)
        return address is not None and any(address in network for network in self._trusted)

    def address(self, scope: Scope) -> str:
        """The client's address: the peer, or behind a trusted proxy the client it forwarded for."""
        client = scope.get("client")
        peer = client[0] if client else ""
        if not self._trusted or not self._is_proxy(peer):
            return peer
        for hop in reversed(read_head(scope).forwarded_for.split(",")):
            if not self._is_proxy(hop):
                return hop.strip() if _address(hop) is not None else peer  # garbage: the proxy's own word only
        return peer

    def client(self, scope: Scope) -> Client:
        """The user agent and address of a request, as the device list shows them."""
        return Client(read_head(scope).user_agent[:200], self.address(scope))
