"""Cookie sessions end to end, against ``passgate serve`` as a process."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.api import COOKIE, assert_problem, bearer, cookie_value, login, new_name, register
from tests.nodes import Node

NODE_ARGS = ("--login-limit", "10/5m")  # one `passgate serve` for the module (tests/e2e/conftest.py)


def test_the_whole_flow(client: httpx.Client) -> None:
    name, password = register(client)
    session = login(client, name, password)
    me = client.get("/api/me", headers=session.headers())
    assert me.json() == {"id": me.json()["id"], "username": name, "auth": "session", "session_id": session.id,
                         "email": None, "email_verified": False, "bound": False}
    post = client.post("/api/posts", json={"title": "Hello", "body": "first"}, headers=session.headers())
    assert post.status_code == 201, post.text
    assert post.json()["author"] == {"id": me.json()["id"], "username": name}
    listed = client.get("/api/posts").json()
    assert any(p["id"] == post.json()["id"] for p in listed)
    logout = client.delete("/api/session", headers=session.headers())
    assert logout.status_code == 204
    assert "Max-Age=0" in logout.headers["set-cookie"]
    assert_problem(client.get("/api/me", headers=session.headers()), 401)


def test_cookie_flags(client: httpx.Client) -> None:
    name, password = register(client)
    response = client.post("/api/session", json={"username": name, "password": password})
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in header
    assert "Domain" not in header
    assert len(cookie_value(response).rsplit(".", 1)[1]) == 43  # 256 random bits, base64url


def test_session_body_matches_get(client: httpx.Client) -> None:
    name, password = register(client)
    response = client.post("/api/session", json={"username": name, "password": password})
    body = response.json()
    assert set(body) == {"user", "csrf_token", "expires_at", "idle_expires_at"}
    again = client.get("/api/session", headers={"Cookie": f"{COOKIE}={cookie_value(response)}"})
    assert again.json()["user"] == body["user"]
    assert again.json()["csrf_token"] == body["csrf_token"]


def test_anonymous_post_is_401(client: httpx.Client) -> None:
    response = client.post("/api/posts", json={"title": "x", "body": "y"})
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_cookie_post_without_csrf_is_403_and_stores_nothing(client: httpx.Client) -> None:
    name, _ = register(client)
    session = login(client, name)
    title = f"csrf-{new_name()}"
    assert_problem(
        client.post("/api/posts", json={"title": title, "body": ""}, headers=session.headers(csrf=False)),
        403, "csrf_failed",
    )
    wrong = {**session.headers(), "X-CSRF-Token": "forged"}
    assert_problem(client.post("/api/posts", json={"title": title, "body": ""}, headers=wrong), 403, "csrf_failed")
    assert all(p["title"] != title for p in client.get("/api/posts?limit=100").json())


def test_cookie_post_from_foreign_origin_is_403(client: httpx.Client) -> None:
    name, _ = register(client)
    session = login(client, name)
    headers = {**session.headers(), "Origin": "https://evil.example"}
    assert_problem(client.post("/api/posts", json={"title": "x"}, headers=headers), 403, "csrf_failed")


def test_login_from_foreign_origin_is_403(client: httpx.Client) -> None:
    name, password = register(client)
    response = client.post("/api/session", json={"username": name, "password": password},
                           headers={"Origin": "https://evil.example"})
    assert_problem(response, 403, "csrf_failed")
    assert "set-cookie" not in response.headers


def test_same_origin_login_is_fine(client: httpx.Client, node: Node) -> None:
    name, password = register(client)
    response = client.post("/api/session", json={"username": name, "password": password},
                           headers={"Origin": node.url})
    assert response.status_code == 200
    me = client.get("/api/me", headers={"Cookie": f"{COOKIE}={cookie_value(response)}"})
    assert me.json()["username"] == name and me.json()["auth"] == "session"


@pytest.mark.parametrize("cookie", [
    "garbage",
    "a" * 22 + "." + "b" * 22 + "." + "c" * 43,
    "",
    "x" * 5000,
    "%00%ff",
])
def test_forged_cookie_is_401(client: httpx.Client, cookie: str) -> None:
    assert_problem(client.get("/api/me", headers={"Cookie": f"{COOKIE}={cookie}"}), 401)


def test_forged_secret_for_a_real_login_is_401(client: httpx.Client) -> None:
    name, _ = register(client)
    session = login(client, name)
    user_id, login_id, _ = session.cookie.split(".")
    forged = f"{user_id}.{login_id}.{'A' * 43}"
    assert_problem(client.get("/api/me", headers={"Cookie": f"{COOKIE}={forged}"}), 401)


def test_login_replaces_the_cookie_it_carried(client: httpx.Client) -> None:
    name, _ = register(client)
    first = login(client, name)
    second = login(client, name, headers={"Cookie": f"{COOKIE}={first.cookie}"})
    assert second.cookie != first.cookie
    assert_problem(client.get("/api/me", headers=first.headers()), 401)
    assert client.get("/api/me", headers=second.headers()).status_code == 200


def test_an_id_the_server_never_issued_is_not_adopted(client: httpx.Client) -> None:
    name, _ = register(client)
    planted = "p" * 22 + "." + "q" * 22 + "." + "r" * 43
    response = client.post("/api/session", json={"username": name, "password": "correct horse"},
                           headers={"Cookie": f"{COOKIE}={planted}"})
    assert cookie_value(response) != planted
    assert_problem(client.get("/api/me", headers={"Cookie": f"{COOKIE}={planted}"}), 401)


def test_wrong_password_and_unknown_user_answer_alike(client: httpx.Client) -> None:
    name, _ = register(client)
    wrong = client.post("/api/session", json={"username": name, "password": "wrong password"})
    unknown = client.post("/api/session", json={"username": new_name(), "password": "wrong password"})
    assert_problem(wrong, 401, "invalid_credentials")
    assert_problem(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


def test_listing_and_revoking_own_logins(client: httpx.Client) -> None:
    name, _ = register(client)
    one, two = login(client, name), login(client, name)
    listed = client.get("/api/sessions", headers=one.headers()).json()
    assert {entry["id"] for entry in listed} == {one.id, two.id}
    assert [entry["current"] for entry in listed if entry["id"] == one.id] == [True]
    assert {entry["kind"] for entry in listed} == {"cookie"}
    assert client.delete(f"/api/sessions/{two.id}", headers=one.headers()).status_code == 204
    assert_problem(client.get("/api/me", headers=two.headers()), 401)
    assert client.get("/api/me", headers=one.headers()).status_code == 200


IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")


def test_the_device_list_names_browser_and_system(client: httpx.Client) -> None:
    name, _ = register(client)
    phone = login(client, name, headers={"User-Agent": IPHONE})
    login(client, name, headers={"User-Agent": "curl/8.5.0"})
    listed = client.get("/api/sessions", headers=phone.headers()).json()
    assert sorted(entry["user_agent"] for entry in listed) == ["Mobile Safari 17.0 on iOS 17.0 (iPhone)", "curl 8"]
    page = client.get("/account/sessions", headers=phone.headers(csrf=False)).text
    assert "Mobile Safari 17.0 on iOS 17.0 (iPhone)" in page and "CPU iPhone OS" not in page


def test_revoking_another_users_login_is_404(client: httpx.Client) -> None:
    mine, theirs = login(client, register(client)[0]), login(client, register(client)[0])
    assert_problem(client.delete(f"/api/sessions/{theirs.id}", headers=mine.headers()), 404, "not_found")
    assert client.get("/api/me", headers=theirs.headers()).status_code == 200


def test_log_out_everywhere_else(client: httpx.Client) -> None:
    name, _ = register(client)
    one, two, three = login(client, name), login(client, name), login(client, name)
    assert client.delete("/api/sessions", headers=one.headers()).status_code == 204
    assert client.get("/api/me", headers=one.headers()).status_code == 200
    for other in (two, three):
        assert_problem(client.get("/api/me", headers=other.headers()), 401)
    assert client.delete("/api/sessions?include_current=true", headers=one.headers()).status_code == 204
    assert_problem(client.get("/api/me", headers=one.headers()), 401)


def test_logout_needs_csrf(client: httpx.Client) -> None:
    name, _ = register(client)
    session = login(client, name)
    assert_problem(client.delete("/api/session", headers=session.headers(csrf=False)), 403, "csrf_failed")
    assert client.get("/api/me", headers=session.headers()).status_code == 200


def test_author_deletes_own_post_only(client: httpx.Client) -> None:
    author, other = login(client, register(client)[0]), login(client, register(client)[0])
    post = client.post("/api/posts", json={"title": "mine"}, headers=author.headers()).json()
    assert_problem(client.delete(f"/api/posts/{post['id']}", headers=other.headers()), 403, "forbidden")
    assert client.delete(f"/api/posts/{post['id']}", headers=author.headers()).status_code == 204
    assert_problem(client.get(f"/api/posts/{post['id']}"), 404, "not_found")


def test_author_comes_from_the_login_not_the_body(client: httpx.Client) -> None:
    name, _ = register(client)
    session = login(client, name)
    body = {"title": "t", "body": "b", "author": {"id": "someone", "username": "admin"}, "author_id": "x"}
    post = client.post("/api/posts", json=body, headers=session.headers()).json()
    assert post["author"]["username"] == name


def test_posts_paging(client: httpx.Client) -> None:
    session = login(client, register(client)[0])
    ids = [client.post("/api/posts", json={"title": f"p{i}"}, headers=session.headers()).json()["id"]
           for i in range(3)]
    newest = client.get("/api/posts?limit=2").json()
    assert [p["id"] for p in newest] == ids[::-1][:2]
    older = client.get(f"/api/posts?limit=1&before={ids[2]}").json()
    assert older[0]["id"] == ids[1]
    assert_problem(client.get("/api/posts?limit=0"), 422, "validation_failed")
    assert_problem(client.get("/api/posts?limit=101"), 422, "validation_failed")
    assert_problem(client.get("/api/posts?before=neverissued"), 422, "validation_failed")


def test_a_cursor_outlives_the_post_it_names(client: httpx.Client) -> None:
    # A client paging with `before=<last id of its page>` goes on when that post is deleted meanwhile.
    session = login(client, register(client)[0])
    ids = [client.post("/api/posts", json={"title": f"p{i}"}, headers=session.headers()).json()["id"]
           for i in range(3)]
    assert client.delete(f"/api/posts/{ids[1]}", headers=session.headers()).status_code == 204
    after_deleted = client.get(f"/api/posts?limit=1&before={ids[1]}")
    assert after_deleted.status_code == 200, after_deleted.text
    assert [p["id"] for p in after_deleted.json()] == [ids[0]]


def test_two_megabyte_body_is_413(client: httpx.Client) -> None:
    big = b'{"username":"' + b"a" * 2_000_000 + b'","password":"x"}'
    response = client.post("/api/users", content=big, headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


def test_chunked_big_body_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 4096

    response = client.post("/api/users", content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize("content, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"", "application/json", 400),
    (b'{"username": "abc", "password": NaN}', "application/json", 400),
    (b'{"username": "a", "username": "b", "password": "x"}', "application/json", 400),
    (b"[" * 5000 + b"]" * 5000, "application/json", 400),
    (b"\xff\xfe garbage", "application/json", 400),
    (b'{"username": "abcd", "password": "\\ud800 correct horse"}', "application/json", 400),  # a lone surrogate
    (b'{"username": "ab\\udfffcd", "password": "correct horse"}', "application/json", 400),
    (b'{"username": "abcd", "password": "correct horse", "\\ud83d": 1}', "application/json", 400),
    (b"[]", "application/json", 422),
    (b'"string"', "application/json", 422),
    (b"null", "application/json", 422),
    (b'{"username": 5, "password": "correct horse"}', "application/json", 422),
    (b'{"username": ["a"], "password": "correct horse"}', "application/json", 422),
    (b'{"username": "abc"}', "application/json", 422),
    (b'{"username": "abc", "password": true}', "application/json", 422),
    (b"username=abc&password=x", "application/x-www-form-urlencoded", 415),
    (b'{"username": "abc", "password": "x"}', "text/plain", 415),
])
@pytest.mark.parametrize("path", ["/api/users", "/api/session", "/api/token"])
def test_malformed_bodies_are_4xx(client: httpx.Client, path: str, content: bytes, content_type: str,
                                  status: int) -> None:
    response = client.post(path, content=content, headers={"Content-Type": content_type})
    assert_problem(response, status)


@pytest.mark.parametrize("username", [
    "ab", "a" * 33, "bad name", "tab\tname", "zero\u200bwidth", "rtl\u202eevil", "nul\x00name", "emoji😀",
    "mixЖscript", "한글abc", "../etc", "<script>", "",
])
def test_bad_usernames_are_422(client: httpx.Client, username: str) -> None:
    response = client.post("/api/users", json={"username": username, "password": "correct horse"})
    assert_problem(response, 422, "validation_failed")
    assert "correct horse" not in response.text


@pytest.mark.parametrize(("username", "normalised"), [
    ("한글이름", "한글이름"), ("Ünïcödé", "Ünïcödé"), ("dot.dash-under_9", "dot.dash-under_9"),
    ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"), ("Ελληνικά", "Ελληνικά"),
])
def test_good_unicode_usernames(client: httpx.Client, username: str, normalised: str) -> None:
    unique = str(secrets.randbelow(10**8))  # digits go with any script, so the name is new on this server
    response = client.post("/api/users", json={"username": username + unique, "password": "correct horse"})
    assert response.status_code == 201, response.text
    assert response.json()["username"] == normalised + unique


def test_usernames_are_unique_after_casefold(client: httpx.Client) -> None:
    base = new_name()
    register(client, base + "ss")
    response = client.post("/api/users", json={"username": base.upper() + "ß", "password": "correct horse"})
    assert_problem(response, 409, "username_taken")


def test_a_name_that_looks_like_a_taken_one_is_taken(client: httpx.Client) -> None:
    """UTS #39 skeletons: Cyrillic letters that look Latin, a dotless i, rn for m."""
    suffix = str(secrets.randbelow(10**8)).zfill(8)  # digits go with any script
    for taken, lookalike in [("scope", "\u0455\u0441\u043e\u0440\u0435"), ("admin", "adm\u0131n"),
                             ("rnodern", "modern")]:
        register(client, taken + suffix)
        response = client.post("/api/users", json={"username": lookalike + suffix, "password": "correct horse"})
        assert_problem(response, 409, "username_taken")


@pytest.mark.parametrize("password", ["short", "x" * 1025, "has\x00nul1"])
def test_bad_passwords_are_422(client: httpx.Client, password: str) -> None:
    response = client.post("/api/users", json={"username": new_name(), "password": password})
    assert_problem(response, 422, "validation_failed")


def test_passwords_are_not_normalised(client: httpx.Client) -> None:
    name, _ = register(client, password="caf\u00e9-password")
    denied = client.post("/api/session", json={"username": name, "password": "cafe\u0301-password"})
    assert_problem(denied, 401, "invalid_credentials")


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/nothing"), ("PATCH", "/api/posts"), ("GET", "/api/posts/%00"), ("PUT", "/api/session"),
    ("GET", "/api/posts?limit=abc"), ("GET", "/api/posts?limit=99999999999999999999999"),
])
def test_odd_requests_never_500(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


def test_two_authorization_headers_are_400(client: httpx.Client) -> None:
    response = client.get("/api/me", headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
    assert_problem(response, 400, "validation_failed")


def test_no_secret_in_errors_or_log(client: httpx.Client, node: Node) -> None:
    name, password = register(client, password="hunter2-secret-value")
    session = login(client, name, password)
    client.post("/api/session", json={"username": name, "password": "wrong-secret-value"})
    client.get("/api/me", headers={"Cookie": f"{COOKIE}={session.cookie}x"})
    log = node.log()
    for secret in ("hunter2-secret-value", "wrong-secret-value", session.cookie, session.cookie.rsplit(".", 1)[1]):
        assert secret not in log


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert "passgate_http_responses_total" in client.get("/metrics").text
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_failed_logins_hit_the_limit(nodes: Callable[..., Node]) -> None:
    node = nodes("--login-limit", "10/5m")
    with node.client() as client:
        name, password = register(client)
        for _ in range(10):
            assert_problem(client.post("/api/session", json={"username": name, "password": "wrong pass"}), 401)
        limited = client.post("/api/session", json={"username": name, "password": password})
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) > 0
        other = client.post("/api/token", json={"username": register(client)[0], "password": password})
        assert_problem(other, 429, "rate_limited")  # the same client address is over the limit too



@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_trusted_proxy_the_address_limit_counts_each_client(nodes: Callable[..., Node], trusted: bool) -> None:
    node = nodes("--login-limit", "3/5m", *(("--trusted-proxies", "127.0.0.1") if trusted else ()))
    guesser, bystander = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.2"}
    with node.client() as client:
        names = [register(client)[0] for _ in range(4)]
        for name in names[:3]:  # one guess at each of three accounts: only the address count reaches 3
            assert_problem(client.post("/api/session", json={"username": name, "password": "wrong pass"},
                                       headers=guesser), 401)
        ours = client.post("/api/token", json={"username": names[3], "password": "correct horse"}, headers=bystander)
        if trusted:
            assert ours.status_code == 200, ours.text  # another client behind the same proxy
            limited = client.post("/api/token", json={"username": names[3], "password": "correct horse"},
                                  headers=guesser)
            assert_problem(limited, 429, "rate_limited")
            me = client.get("/api/sessions", headers=bearer(ours.json()["access_token"])).json()
            assert me[0]["ip"] == "198.51.100.2"
        else:
            assert_problem(ours, 429, "rate_limited")  # the header is anyone's: every client is the peer

def test_concurrent_guesses_cannot_pass_the_limit_together(nodes: Callable[..., Node]) -> None:
    # Each guess is counted before its hash, so guesses sent at once are held to the limit too:
    # counting only after the hash let every guess in flight pass the check.
    node = nodes("--login-limit", "3/5m", "--password-time-cost", "2", "--password-memory-kib", "65536")
    with node.client() as client:
        name, password = register(client)
    guess = {"username": name, "password": "wrong pass"}

    def attempt(_: int) -> int:
        with node.client(timeout=120.0) as own:  # twelve 64 MiB hashes at idle priority on a busy machine
            return own.post("/api/session", json=guess).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(attempt, range(12)))
    assert statuses == [401] * 3 + [429] * 9
    with node.client() as client:
        assert_problem(client.post("/api/session", json={"username": name, "password": password}), 429)


def test_logins_sent_at_once_with_the_right_password_all_succeed(nodes: Callable[..., Node]) -> None:
    # More logins in flight from one address than the limit allows failures: none of them failed,
    # so none is refused (behind a proxy, every client has the proxy's address).
    node = nodes("--login-limit", "3/5m", "--password-time-cost", "2", "--password-memory-kib", "65536")
    with node.client() as client:
        name, password = register(client)

    def attempt(_: int) -> int:
        with node.client() as own:
            return own.post("/api/token", json={"username": name, "password": password}).status_code

    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(attempt, range(12))) == [200] * 12


def test_a_right_password_does_not_count_against_the_limit(nodes: Callable[..., Node]) -> None:
    node = nodes("--login-limit", "3/5m")
    with node.client() as client:
        name, password = register(client)
        for _ in range(6):
            assert client.post("/api/token", json={"username": name, "password": password}).status_code == 200
        for _ in range(3):
            assert_problem(client.post("/api/token", json={"username": name, "password": "wrong pass"}), 401)
        assert_problem(client.post("/api/token", json={"username": name, "password": password}), 429)


def _hashes(client: httpx.Client) -> dict[str, int]:
    found = re.findall(r'passgate_password_hashes_total\{outcome="(\w+)"\} (\d+)', client.get("/metrics").text)
    return {outcome: int(count) for outcome, count in found}


def test_a_login_whose_client_hung_up_is_not_hashed(nodes: Callable[..., Node]) -> None:
    # ~0.4 s a hash and two hashing threads: the clients below give up long before a thread is free.
    node = nodes("--login-limit", "1000/5m", "--password-time-cost", "10", "--password-memory-kib", "65536")
    with node.client() as client:
        name, password = register(client)
        before = _hashes(client)

    def hang_up(_: int) -> None:
        with httpx.Client(base_url=node.url, timeout=0.2) as impatient, pytest.raises(httpx.TimeoutException):
            impatient.post("/api/session", json={"username": name, "password": "wrong pass"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hang_up, range(8)))
    with node.client() as client:  # answered after every hash queued before it that was not dropped
        assert client.post("/api/token", json={"username": name, "password": password}).status_code == 200
        after = _hashes(client)
    computed, dropped = (after[outcome] - before[outcome] for outcome in ("computed", "dropped"))
    assert computed <= 4, (computed, dropped)  # those threads had taken (two or so), and the last login
    assert dropped >= 4, (computed, dropped)


def test_idle_timeout(nodes: Callable[..., Node]) -> None:
    node = nodes("--session-idle", "2s", "--session-absolute", "60s")
    with node.client() as client:
        session = login(client, register(client)[0])
        for _ in range(4):  # activity keeps it alive past the idle timeout
            time.sleep(0.8)
            assert client.get("/api/me", headers=session.headers()).status_code == 200
        time.sleep(2.5)
        assert_problem(client.get("/api/me", headers=session.headers()), 401)


def test_absolute_timeout(nodes: Callable[..., Node]) -> None:
    node = nodes("--session-idle", "60s", "--session-absolute", "3s")
    with node.client() as client:
        session = login(client, register(client)[0])
        assert client.get("/api/me", headers=session.headers()).status_code == 200
        time.sleep(3.5)
        assert_problem(client.get("/api/me", headers=session.headers()), 401)


def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    node = Node(tmp_path / "data").start()
    try:
        with node.client() as client:
            session = login(client, register(client)[0])
        node.stop()
        node.start()
        with node.client() as client:
            assert client.get("/api/me", headers=session.headers()).status_code == 200
    finally:
        node.stop()


def test_insecure_cookies_option(nodes: Callable[..., Node]) -> None:
    node = nodes("--insecure-cookies")
    with node.client() as client:
        name, password = register(client)
        header = client.post("/api/session", json={"username": name, "password": password}).headers["set-cookie"]
        assert header.startswith("passgate=") and "Secure" not in header and "HttpOnly" in header
