"""What a person does on the board, in a real browser: sign up, post, log in and out, devices, account."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.nodes import Node

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ON_LOGIN_PAGE = re.compile(r"/login(\?.*)?$")


def new_name() -> str:
    return "b" + secrets.token_hex(5)


def header(page: Page) -> Locator:
    return page.get_by_role("banner")


def expect_logged_in(page: Page, name: str) -> None:
    expect(header(page).locator(".who")).to_have_text(name)
    expect(header(page).get_by_role("button", name="Log out")).to_be_visible()


def expect_logged_out(page: Page) -> None:
    expect(header(page).get_by_role("link", name="Log in")).to_be_visible()
    expect(header(page).get_by_role("button", name="Log out")).to_have_count(0)


def expect_at(page: Page, node: Node, path: str) -> None:
    expect(page).to_have_url(node.url + path)


def register(page: Page, node: Node, name: str, password: str = PASSWORD) -> None:
    page.goto("/register")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect_at(page, node, "/")
    expect_logged_in(page, name)


def fill_login(page: Page, name: str, password: str) -> None:
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()


def login(page: Page, node: Node, name: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    fill_login(page, name, password)
    expect_at(page, node, "/")
    expect_logged_in(page, name)


def write_post(page: Page, node: Node, title: str, body: str) -> None:
    page.goto("/posts/new")
    expect(page.get_by_role("heading", name="New post")).to_be_visible()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Text").fill(body)
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page).to_have_url(re.compile(r"/posts/[^/]+$"))
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def post_on_board(page: Page, title: str) -> Locator:
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=title, exact=True))


def expect_sent_to_login(page: Page) -> None:
    page.goto("/posts/new")
    expect(page).to_have_url(ON_LOGIN_PAGE)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect_logged_out(page)


def test_register_post_logout(page: Page, node: Node, artifacts: Path) -> None:
    name, title = new_name(), f"Hello from {new_name()}"
    register(page, node, name)
    # The stylesheet is applied: a person sees the site, not bare HTML.
    expect(page.locator("body")).not_to_have_css("background-color", "rgba(0, 0, 0, 0)")

    write_post(page, node, title, "First post.\nWritten in a real browser.")
    page.goto("/")
    post = post_on_board(page, title)
    expect(post).to_be_visible()
    expect(post).to_contain_text(f"by {name}")
    expect(post).to_contain_text("First post.")
    page.screenshot(path=artifacts / "board.png", full_page=True)

    header(page).get_by_role("button", name="Log out").click()
    expect_at(page, node, "/")
    expect_logged_out(page)
    expect(post_on_board(page, title)).to_be_visible()  # anyone reads

    expect_sent_to_login(page)
    expect(page).to_have_url(node.url + "/login?next=/posts/new")
    page.screenshot(path=artifacts / "login.png", full_page=True)

    # Logging in from there goes on to where the person was heading.
    fill_login(page, name, PASSWORD)
    expect_at(page, node, "/posts/new")
    expect_logged_in(page, name)


def test_login_wrong_then_right_password(page: Page, node: Node, new_page: Callable[[], Page]) -> None:
    name = new_name()
    register(new_page(), node, name)

    page.goto("/login")
    fill_login(page, name, "not the password")
    expect(page.get_by_role("alert")).to_have_text(re.compile("invalid username or password", re.I))
    expect_at(page, node, "/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(name)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect_logged_out(page)

    fill_login(page, name, PASSWORD)
    expect_at(page, node, "/")
    expect_logged_in(page, name)
    expect(page.get_by_role("heading", name="Community board")).to_be_visible()


def current_row(page: Page) -> Locator:
    return page.get_by_role("row").filter(has_text="(this one)")


def expect_unclipped(locator: Locator) -> None:
    """Shown in full: no ancestor that hides its overflow (an ellipsis, say) cuts the element off."""
    expect(locator).to_be_visible()
    clipped = locator.evaluate("""element => {
        const box = element.getBoundingClientRect();
        for (let node = element.parentElement; node; node = node.parentElement) {
            if (getComputedStyle(node).overflow === "visible") continue;
            const outer = node.getBoundingClientRect();
            if (box.left < outer.left - 1 || box.right > outer.right + 1) return node.outerHTML.slice(0, 120);
        }
        return null;
    }""")
    assert clipped is None, f"{locator} is cut off by {clipped}"


def test_devices_list_and_revoke(node: Node, new_page: Callable[[], Page], artifacts: Path) -> None:
    name = new_name()
    first, second = new_page(), new_page()
    register(first, node, name)

    first.goto("/account/sessions")
    expect(first.get_by_role("heading", name="Where you are logged in")).to_be_visible()
    logins = first.locator("table tbody tr")
    expect(logins).to_have_count(1)
    expect(current_row(first)).to_have_count(1)
    expect(current_row(first)).to_contain_text("browser")
    expect_unclipped(current_row(first).get_by_text("(this one)"))

    login(second, node, name)
    second.goto("/account/sessions")
    expect(second.locator("table tbody tr")).to_have_count(2)
    second_id = current_row(second).locator("input[name=login_id]").get_attribute("value")
    assert second_id

    first.reload()
    expect(logins).to_have_count(2)
    expect(current_row(first)).to_have_count(1)
    other = logins.filter(has=first.locator(f"input[name=login_id][value='{second_id}']"))
    expect(other).not_to_contain_text("(this one)")
    first.screenshot(path=artifacts / "sessions.png", full_page=True)

    other.get_by_role("button", name="Revoke").click()
    expect_at(first, node, "/account/sessions")
    expect(logins).to_have_count(1)
    expect(current_row(first)).to_have_count(1)

    expect_sent_to_login(second)
    first.goto("/posts/new")
    expect_at(first, node, "/posts/new")
    expect_logged_in(first, name)


def test_change_password(node: Node, new_page: Callable[[], Page], artifacts: Path) -> None:
    name, new_password = new_name(), "a brand new passphrase"
    changer, other = new_page(), new_page()
    register(changer, node, name)
    login(other, node, name)

    changer.goto("/account")
    changer.get_by_label("Current password").fill("not my password")
    changer.get_by_label("New password").fill(new_password)
    changer.get_by_role("button", name="Change password").click()
    expect(changer.get_by_role("alert")).to_have_text(re.compile("password is wrong", re.I))
    expect(changer.get_by_role("heading", name=f"Your account, {name}")).to_be_visible()
    expect_logged_in(changer, name)
    changer.screenshot(path=artifacts / "account.png", full_page=True)
    # Nothing changed: the other device is still logged in.
    other.goto("/posts/new")
    expect_at(other, node, "/posts/new")

    changer.get_by_label("Current password").fill(PASSWORD)
    changer.get_by_label("New password").fill(new_password)
    changer.get_by_role("button", name="Change password").click()
    expect(changer.get_by_role("status")).to_have_text("Password changed. 1 other login ended.")
    expect(changer.get_by_role("alert")).to_have_count(0)

    expect_sent_to_login(other)
    changer.goto("/posts/new")
    expect_at(changer, node, "/posts/new")
    expect_logged_in(changer, name)

    fresh = new_page()
    fresh.goto("/login")
    fill_login(fresh, name, PASSWORD)
    expect(fresh.get_by_role("alert")).to_have_text(re.compile("invalid username or password", re.I))
    fill_login(fresh, name, new_password)
    expect_at(fresh, node, "/")
    expect_logged_in(fresh, name)


def test_delete_account_keeps_posts(page: Page, node: Node, new_page: Callable[[], Page]) -> None:
    name, title = new_name(), f"Parting words {new_name()}"
    register(page, node, name)
    write_post(page, node, title, "Goodbye.")

    page.goto("/account")
    delete = page.get_by_role("button", name="Delete my account")
    page.get_by_label("Password", exact=True).fill("not my password")
    delete.click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("password is wrong", re.I))
    expect_logged_in(page, name)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    delete.click()
    expect_at(page, node, "/")
    expect_logged_out(page)
    post = post_on_board(page, title)
    expect(post).to_contain_text("by a deleted user")
    expect(post).not_to_contain_text(name)
    expect_sent_to_login(page)

    stranger = new_page()
    stranger.goto("/")
    expect(post_on_board(stranger, title)).to_contain_text("by a deleted user")
    stranger.goto("/login")
    fill_login(stranger, name, PASSWORD)
    expect(stranger.get_by_role("alert")).to_have_text(re.compile("invalid username or password", re.I))
