"""The session cookie transport."""

from __future__ import annotations

from passgate.transports import CookieTransport
from tests.transports.contract import CREDENTIAL, TransportContract, head


class TestCookieTransport(TransportContract):
    transport = CookieTransport()

    def carrying(self, value: str) -> list[tuple[str, str]]:
        return [("cookie", f"theme=dark; __Host-passgate={value}")]


class TestInsecureCookieTransport(TransportContract):
    transport = CookieTransport(insecure=True)

    def carrying(self, value: str) -> list[tuple[str, str]]:
        return [("cookie", "a=1"), ("cookie", f"passgate={value}")]


def test_a_lookalike_name_is_not_the_cookie() -> None:
    cookie = CookieTransport()
    assert cookie.read(head(("cookie", f"x__Host-passgate={CREDENTIAL}; __Host-passgatex={CREDENTIAL}"))) is None
    assert cookie.read(head(("cookie", "__Host-passgate="))) is None
    assert cookie.read(head(("cookie", f'__Host-passgate="{CREDENTIAL}"'))) == CREDENTIAL


def test_the_cookie_flags() -> None:
    secure = CookieTransport(max_age=60).set_header("v")
    assert secure == "__Host-passgate=v; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure"
    cleared = CookieTransport(insecure=True).clear_header()
    assert cleared.startswith('passgate=""; Max-Age=0;') and "Secure" not in cleared
