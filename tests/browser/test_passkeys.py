"""Passkeys in a real browser: Chromium's DevTools virtual authenticator (a platform authenticator
with user verification and resident keys) adds a passkey on /account/security, logs in with it from
/login after a logout, and the passkey is removed.  The board is reached as http://localhost
(WebAuthn refuses IP addresses), with --public-url saying so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_board import PASSWORD, expect_logged_in, expect_logged_out, header, new_name
from tests.nodes import Node, free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def localhost_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    port = free_port()
    node = Node(tmp_path_factory.mktemp("browser-passkeys"), "--public-url", f"http://localhost:{port}",
                "--login-limit", "100/5m", port=port).start()
    yield node
    node.stop()


@pytest.fixture
def page(browser: Browser, localhost_node: Node) -> Iterator[Page]:
    context = browser.new_context(base_url=f"http://localhost:{localhost_node.port}",
                                  viewport={"width": 1100, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def virtual_authenticator(page: Page) -> tuple[Any, str]:
    """A CTAP2 platform authenticator that verifies its user and keeps discoverable credentials."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, str(added["authenticatorId"])


def test_add_a_passkey_log_in_with_it_and_remove_it(page: Page, localhost_node: Node, artifacts: Path) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    cdp, authenticator = virtual_authenticator(page)
    name = new_name()
    page.goto("/register")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect_logged_in(page, name)

    page.goto("/account/security")
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    page.get_by_label("Name it").fill("Virtual laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status")).to_have_text("The passkey is added.")
    expect(page.locator(".passkey-list li")).to_have_count(1)
    expect(page.locator(".passkey-list .name")).to_have_text("Virtual laptop")
    (kept,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert kept["isResidentCredential"] is True and kept["rpId"] == "localhost"
    page.screenshot(path=artifacts / "passkey-added.png", full_page=True)

    header(page).get_by_role("button", name="Log out").click()
    expect_logged_out(page)
    page.goto("/login?next=/account/security")
    expect(page.get_by_role("button", name="Log in with a passkey")).to_be_visible()
    page.screenshot(path=artifacts / "passkey-login.png", full_page=True)
    page.get_by_role("button", name="Log in with a passkey").click()
    expect(page).to_have_url(f"http://localhost:{localhost_node.port}/account/security")
    expect_logged_in(page, name)
    expect(page.locator(".passkey-list .time")).to_contain_text("last used")
    page.goto("/account/sessions")
    expect(page.locator("tr.current .tag.mfa")).to_have_text("passkey")

    page.goto("/account/security")
    page.get_by_role("button", name="Remove Virtual laptop").click()
    expect(page.get_by_role("status")).to_have_text("The passkey is removed.")
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    page.screenshot(path=artifacts / "passkey-removed.png", full_page=True)

    header(page).get_by_role("button", name="Log out").click()
    page.goto("/login")
    page.get_by_role("button", name="Log in with a passkey").click()  # the authenticator still has it
    expect(page.locator("#passkey-login .error")).to_have_text("the passkey was not accepted; try again")
    expect_logged_out(page)
    assert not [text for text in errors if "Content Security Policy" in text], errors
