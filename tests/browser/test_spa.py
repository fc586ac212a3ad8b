"""``examples/spa`` in Chromium, served from a second origin next to ``passgate serve --cors-origins``.

It logs in with a DPoP proof made by a non-extractable WebCrypto key, reads the board, posts, lists
and revokes devices; the session cookie is of no use to it across origins; and a token read out of
the page by injected script is refused when replayed from outside, with or without a proof.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import TIMEOUT_MS
from tests.dpop import Key
from tests.e2e.api import assert_problem, register
from tests.nodes import Node, die_with_parent, free_port, wait_until

SPA = Path(__file__).resolve().parents[2] / "examples" / "spa"
PASSWORD = "correct horse"

# Injected before the app's own script, as an XSS would be: it copies every request's credentials.
STEAL = """
window.__stolen = [];
window.__urls = [];
const realFetch = window.fetch;
window.fetch = (url, init = {}) => {
  const headers = init.headers || {};
  window.__urls.push(String(url));
  if (headers.Authorization) window.__stolen.push({url: String(url), authorization: headers.Authorization,
                                                   dpop: headers.DPoP, method: init.method || "GET"});
  return realFetch(url, init);
};
"""


@pytest.fixture(scope="module")
def spa_origin() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(SPA)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=die_with_parent)
    origin = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(origin + "/index.html", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, 15)
        yield origin
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, spa_origin: str) -> Iterator[Node]:
    # Access tokens of 35 s: the app refreshes 30 s before expiry, so within the tests.
    node = Node(tmp_path_factory.mktemp("spa"), "--login-limit", "100/5m", "--cors-origins", spa_origin,
                "--access-ttl", "35s").start()
    yield node
    node.stop()


@pytest.fixture
def spa(browser: Browser, node: Node, spa_origin: str) -> Iterator[Callable[..., Page]]:
    contexts = []

    def open_spa(*, inject: str | None = None) -> Page:
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        if inject:
            context.add_init_script(inject)
        page = context.new_page()
        page.goto(f"{spa_origin}/index.html?api={node.url}")
        return page

    yield open_spa
    for context in contexts:
        context.close()


def log_in(page: Page, name: str) -> None:
    page.fill("#login [name=username]", name)
    page.fill("#login [name=password]", PASSWORD)
    page.click("#login button")
    expect(page.locator("#who")).to_contain_text(f"Signed in as {name}, with a DPoP-bound token")
    expect(page.locator("#login")).to_be_hidden()


def test_the_spa_logs_in_posts_and_revokes_across_origins(
    spa: Callable[..., Page], node: Node, artifacts: Path,
) -> None:
    with node.client() as client:
        name, _ = register(client, password=PASSWORD)
    page = spa()
    log_in(page, name)
    page.fill("#post [name=title]", "Hello from another origin")
    page.click("#post button")
    expect(page.locator("#posts")).to_contain_text(f"Hello from another origin ({name})")
    expect(page.locator("#devices li")).to_have_count(1)
    expect(page.locator("#devices")).to_contain_text("key-bound")
    page.screenshot(path=artifacts / "spa.png", full_page=True)
    page.click("#devices .revoke")  # this device: the login ends and the app forgets its tokens
    expect(page.locator("#login")).to_be_visible()


def test_the_spa_refreshes_before_expiry(spa: Callable[..., Page], node: Node) -> None:
    with node.client() as client:
        name, _ = register(client, password=PASSWORD)
    page = spa(inject=STEAL)
    log_in(page, name)
    page.wait_for_function("window.__urls.some((url) => url.endsWith('/api/token/refresh'))", timeout=20_000)
    page.fill("#post [name=title]", "after a refresh")
    page.click("#post button")
    expect(page.locator("#posts")).to_contain_text("after a refresh")
    tokens = {s["authorization"] for s in page.evaluate("window.__stolen")}
    assert len(tokens) == 2  # the first access token, and the refreshed one


def test_the_key_is_not_extractable(spa: Callable[..., Page], node: Node) -> None:
    page = spa()
    with node.client() as client:
        log_in(page, register(client, password=PASSWORD)[0])
    outcome = page.evaluate("""async () => {
        const db = await new Promise((ok) => {
            const r = indexedDB.open("passgate-spa", 1); r.onsuccess = () => ok(r.result); });
        const pair = await new Promise((ok) => { const q = db.transaction("keys").objectStore("keys").get("dpop");
                                                 q.onsuccess = () => ok(q.result); });
        try { await crypto.subtle.exportKey("jwk", pair.privateKey); return "exported"; }
        catch (error) { return `${pair.privateKey.extractable}: ${error.name}`; }
    }""")
    assert outcome == "false: InvalidAccessError"


def test_the_session_cookie_is_no_use_across_origins(
    browser: Browser, spa: Callable[..., Page], node: Node,
) -> None:
    with node.client() as client:
        name, _ = register(client, password=PASSWORD)
    page = spa()
    # A cookie login on the API's own origin, in the same browser profile as the app.
    board = page.context.new_page()
    board.goto(f"{node.url}/login")
    board.fill("[name=username]", name)
    board.fill("[name=password]", PASSWORD)
    board.click("form button[type=submit], form input[type=submit]")
    expect(board.locator("body")).to_contain_text(name)
    assert any(cookie["name"] == "__Host-passgate" for cookie in page.context.cookies(node.url))
    answer = page.evaluate("""async (api) => {
        try { const r = await fetch(`${api}/api/me`, {credentials: "include"}); return `read ${r.status}`; }
        catch (error) { return `blocked: ${error.name}`; }
    }""", node.url)
    assert answer == "blocked: TypeError"  # no credentialed CORS: the page never sees the answer
    plain = page.evaluate("async (api) => (await fetch(`${api}/api/me`)).status", node.url)
    assert plain == 401  # and without credentials the cookie is not sent


def test_a_token_stolen_by_injected_script_is_refused_from_outside(spa: Callable[..., Page], node: Node) -> None:
    with node.client() as client:
        name, _ = register(client, password=PASSWORD)
    page = spa(inject=STEAL)
    log_in(page, name)
    stolen: list[dict[str, Any]] = page.evaluate("window.__stolen")
    me = next(s for s in stolen if s["url"].endswith("/api/me"))
    token = me["authorization"].removeprefix("DPoP ")
    with httpx.Client(base_url=node.url, timeout=10) as thief:
        as_bearer = thief.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(as_bearer, 401, "invalid_dpop_proof")
        replayed = thief.get("/api/me", headers={"Authorization": me["authorization"], "DPoP": me["dpop"]})
        assert_problem(replayed, 401, "invalid_dpop_proof")
        own_key = Key().proof("GET", f"{node.url}/api/me", token=token)
        by_another_key = thief.get("/api/me", headers={"Authorization": f"DPoP {token}", "DPoP": own_key})
        assert_problem(by_another_key, 401, "invalid_dpop_proof")
    # The app itself goes on working: its key signs a fresh proof for every request.
    page.fill("#post [name=title]", "still mine")
    page.click("#post button")
    expect(page.locator("#posts")).to_contain_text("still mine")
