"""In a real browser: a stranger's guesses lock the account for everyone but the browser its owner
logged in from (OWASP's device cookies), which keeps its device cookie through a logout."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_board import PASSWORD, expect_at, expect_logged_in, fill_login, header, new_name, register
from tests.nodes import Node

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    # Loopback is the proxy: the browser (no X-Forwarded-For) is 127.0.0.1, the stranger names another address.
    node = Node(tmp_path_factory.mktemp("browser-lockout"), "--login-limit", "10/5m",
                "--trusted-proxies", "127.0.0.1").start()
    yield node
    node.stop()


def test_a_stranger_cannot_lock_out_the_browser_the_owner_logged_in_from(node: Node,
                                                                        new_page: Callable[[], Page]) -> None:
    owner, name = new_page(), new_name()
    register(owner, node, name)
    header(owner).get_by_role("button", name="Log out").click()
    owner.goto("/login")
    fill_login(owner, name, PASSWORD)
    expect_logged_in(owner, name)
    assert any(c["name"] == "__Host-passgate-device" and c["secure"] and c["httpOnly"]
               for c in owner.context.cookies(node.url))
    header(owner).get_by_role("button", name="Log out").click()

    with httpx.Client(base_url=node.url, headers={"X-Forwarded-For": "203.0.113.9"}) as stranger:
        for _ in range(11):
            stranger.post("/api/session", json={"username": name, "password": "wrong password"})

    elsewhere = new_page()  # another browser, from the owner's own address
    elsewhere.goto("/login")
    fill_login(elsewhere, name, PASSWORD)
    expect(elsewhere.get_by_role("alert")).to_have_text(re.compile("too many failed logins", re.I))

    owner.goto("/login")
    fill_login(owner, name, PASSWORD)
    expect_at(owner, node, "/")
    expect_logged_in(owner, name)
