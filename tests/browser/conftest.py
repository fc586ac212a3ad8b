"""Headless Chromium (Debian's, not Playwright's download) and one ``passgate serve`` per module.

Chromium treats ``http://127.0.0.1`` as a secure context, so the default ``__Host-`` cookies with
``Secure`` work here and the node runs with its production cookie settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.nodes import Node

CHROMIUM = os.environ.get("PASSGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: Screenshots land here (gitignored), at the repository's root.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# Package scope: the sync API runs an event loop while it is open, which the asyncio tests of the
# other packages must not find running, so Playwright stops once this package is done.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's chromium "
            "(`apt-get install chromium`) or PASSGATE_CHROMIUM=/path/to/a/chromium.",
            pytrace=False,
        )
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except PlaywrightError as exc:
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc.message}", pytrace=False)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    # The failed-login limit counts per address, and every test comes from 127.0.0.1.
    node = Node(tmp_path_factory.mktemp("browser"), "--login-limit", "100/5m").start()
    yield node
    node.stop()


@pytest.fixture
def new_page(browser: Browser, node: Node, request: pytest.FixtureRequest) -> Iterator[Callable[[], Page]]:
    """A factory of pages, each in its own browser context (its own cookie jar: another device)."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(base_url=node.url, viewport={"width": 1100, "height": 760})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = ARTIFACTS / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", request.node.name)
        for number, context in enumerate(contexts):
            for page in context.pages:
                page.screenshot(path=folder / f"{stem}-{number}.png", full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
