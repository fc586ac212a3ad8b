"""The mail flows through the board's pages in a real browser: sign up with an address, verify it
from the mailed link, forget the password, reset it from the mailed link, every device logged out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_board import PASSWORD, expect_at, expect_logged_in, expect_logged_out, login, new_name
from tests.nodes import Node, wait_until
from tests.servers import SmtpServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path_factory.mktemp("smtp")) as server:
        yield server


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[Node]:
    """This module's node (it replaces the package's): it mails through the test's SMTP server."""
    node = Node(tmp_path_factory.mktemp("browser-mail"), "--login-limit", "100/5m", "--smtp-url", smtp.url).start()
    yield node
    node.stop()


def mailed_link(smtp: SmtpServer, address: str, count: int) -> str:
    def arrived() -> list[EmailMessage]:
        return [m for m in smtp.messages() if m["To"] == address]

    wait_until(lambda: len(arrived()) >= count, 15.0)
    text = arrived()[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (link,) = re.findall(r"http://\S+\?token=\S+", text)
    return str(link)


def test_sign_up_verify_forget_and_reset_through_the_pages(
        new_page: Callable[[], Page], node: Node, smtp: SmtpServer, artifacts: Path) -> None:
    name, address, new_password = new_name(), f"{new_name()}@example.test", "a brand new passphrase"
    first, second, forgetful = new_page(), new_page(), new_page()
    first.goto("/register")
    first.get_by_label("Username").fill(name)
    first.get_by_label("Password", exact=True).fill(PASSWORD)
    first.get_by_label("Email address (optional)").fill(address)
    first.get_by_role("button", name="Sign up").click()
    expect_logged_in(first, name)
    first.goto("/account")
    expect(first.locator(".address")).to_contain_text(f"{address} not verified yet")

    first.goto(mailed_link(smtp, address, 1))
    first.get_by_role("button", name="Verify my address").click()
    expect(first.get_by_role("main")).to_contain_text(f"{address} is verified.")
    first.goto("/account")
    expect(first.locator(".state")).to_have_text("verified")
    login(second, node, name)

    forgetful.goto("/login")
    forgetful.get_by_role("link", name="Forgot your password?").click()
    expect_at(forgetful, node, "/forgot")
    forgetful.get_by_label("Email address").fill(address)
    forgetful.get_by_role("button", name="Send me a link").click()
    expect(forgetful.get_by_role("status")).to_contain_text("a link to reset its password is on its way")
    link = mailed_link(smtp, address, 2)
    assert link.startswith(f"{node.url}/reset?token=")
    forgetful.goto(link)
    forgetful.get_by_label("New password").fill(new_password)
    forgetful.screenshot(path=artifacts / "reset.png", full_page=True)
    forgetful.get_by_role("button", name="Set the password").click()
    expect(forgetful.get_by_role("main")).to_contain_text("Your password is set. 2 logins of your account ended")

    for page in (first, second):
        page.reload()
        expect_logged_out(page)
    forgetful.goto(link)  # the link is spent
    forgetful.get_by_label("New password").fill("yet another passphrase")
    forgetful.get_by_role("button", name="Set the password").click()
    expect(forgetful.get_by_role("alert")).to_contain_text("not valid")
    forgetful.goto("/login")
    forgetful.get_by_label("Username").fill(name)
    forgetful.get_by_label("Password", exact=True).fill(PASSWORD)
    forgetful.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(forgetful.get_by_role("alert")).to_be_visible()
    login(forgetful, node, name, new_password)
