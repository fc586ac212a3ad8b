"""The device list names a login's browser and system, read from its User-Agent once, at login."""

from __future__ import annotations

import pytest

from passgate.credentials.opening import Client
from passgate.credentials.records import MAX_USER_AGENT, compact_user_agent
from tests.credentials.conftest import World

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
LINUX_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        (IPHONE, "Mobile Safari 17.0 on iOS 17.0 (iPhone)"),
        (LINUX_CHROME, "Chrome 126 on Linux"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
         "Firefox 128.0 on Windows 10"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
         "Safari/605.1.15", "Safari 17.5 on Mac OS X 10.15.7"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 "
         "Mobile Safari/537.36", "Chrome Mobile 126 on Android 14 (Pixel 8)"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
         "Safari/537.36 Edg/126.0.0.0", "Edge 126 on Windows 10"),
        ("curl/8.5.0", "curl 8"),
    ],
    ids=lambda value: value[:40],
)
def test_a_known_browser_is_named_with_its_system(user_agent: str, shown: str) -> None:
    assert compact_user_agent(user_agent) == shown


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        ("", ""),
        ("bench", "bench"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) NoSuchBrowser",
         "(X11; Linux x86_64) NoSuchBrowser"),
    ],
)
def test_anything_else_is_the_compacted_string(user_agent: str, shown: str) -> None:
    assert compact_user_agent(user_agent) == shown


@pytest.mark.parametrize("user_agent", ["x" * 500, "é" * 500, IPHONE.replace("iPhone;", "iPhone" + "Z" * 300 + ";"),
                                        "\x00\x7f" * 100, "Chrome/" + "9" * 300])
def test_at_most_120_characters_whatever_is_sent(user_agent: str) -> None:
    assert len(compact_user_agent(user_agent)) <= MAX_USER_AGENT


async def test_the_login_record_keeps_the_name(world: World) -> None:
    await world.tokens.open("u" * 22, "alice", Client(user_agent=IPHONE, ip="192.0.2.1"))
    [login] = await world.logins.list("u" * 22)
    assert login.user_agent == "Mobile Safari 17.0 on iOS 17.0 (iPhone)"
