"""Two-step login in a real browser: turn it on at /account/security by the QR code's key, see the
recovery codes once, log out, and log in again with the password and a code."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_board import PASSWORD, expect_at, expect_logged_in, header, new_name, register
from tests.e2e.totp import settle
from tests.nodes import Node

pytestmark = pytest.mark.browser


def test_two_step_login_on_and_used(page: Page, node: Node, artifacts: Path) -> None:
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    name = new_name()
    register(page, node, name)
    page.goto("/account")
    page.get_by_role("link", name="Two-step login →").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Set up two-step login").click()
    expect(page.locator(".qr svg")).to_be_visible()
    page.screenshot(path=artifacts / "security-qr.png", full_page=True)
    secret = page.locator(".secret").inner_text()
    settle()
    page.get_by_label("The code the app shows").fill(pyotp.TOTP(secret).at(time.time() - 30))
    page.get_by_role("button", name="Turn two-step login on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".codes li")).to_have_count(10)
    page.screenshot(path=artifacts / "security-codes.png", full_page=True)
    page.reload()
    expect(page.get_by_role("heading", name="Two-step login is on")).to_be_visible()
    expect(page.locator(".codes")).to_have_count(0)  # shown once
    header(page).get_by_role("button", name="Log out").click()
    page.goto("/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    page.screenshot(path=artifacts / "login-code.png", full_page=True)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect_at(page, node, "/")
    expect_logged_in(page, name)
    assert not [text for text in refused if "Content Security Policy" in text], refused
