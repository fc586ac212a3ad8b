"""The second step on a deployment of two ``passgate serve`` nodes (Redis and PostgreSQL): a login
begun on one node is finished on the other, and a code raced on both nodes works once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.api import COOKIE, assert_problem, cookie_value
from tests.e2e.totp import enrol, mfa_token, settle
from tests.nodes import SHARED_SECRET, Node
from tests.servers import RedisServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def pair(nodes: Callable[..., Node], tmp_path: Path, redis_server: RedisServer, postgres_url: str) -> list[Node]:
    return [nodes("--store", redis_server.url, "--database-url", postgres_url, "--login-limit", "1000/5m",
                  data_dir=tmp_path / "shared", env=SHARED_SECRET) for _ in range(2)]


def test_a_login_begun_on_one_node_is_finished_on_the_other(pair: list[Node], redis_server: RedisServer) -> None:
    with pair[0].client() as one, pair[1].client() as two:
        account = enrol(one)
        token = mfa_token(one, account)
        stored = f"pg:mfa:{hashlib.sha256(token.encode()).hexdigest()}"
        assert 290 <= int(redis_server.call("TTL", stored)) <= 300  # five minutes, in the store
        value = redis_server.call("GET", stored)
        assert token.encode() not in (value if isinstance(value, bytes) else str(value).encode())
        finished = two.post("/api/session/mfa", json={"mfa_token": token, "code": account.code()})
        assert finished.status_code == 200, finished.text
        assert redis_server.call("EXISTS", stored) == 0
        cookie = {"Cookie": f"{COOKIE}={cookie_value(finished)}"}
        assert one.get("/api/me", headers=cookie).json()["username"] == account.name
        assert_problem(one.post("/api/session/mfa", json={"mfa_token": token, "code": account.code(1)}), 401,
                       "token_invalid")


def test_one_code_raced_on_two_nodes_works_once(pair: list[Node]) -> None:
    with pair[0].client() as one, pair[1].client() as two:
        account = enrol(one)
        settle()
        for code in (account.code(), account.recovery_codes[0]):
            tokens = [mfa_token(one, account, "/api/token"), mfa_token(two, account, "/api/token")]
            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(
                    lambda sent: sent[0].post("/api/token/mfa", json={"mfa_token": sent[1], "code": sent[2]}),
                    [(one, tokens[0], code), (two, tokens[1], code)]))
            assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]
            assert [a.json()["code"] for a in answers if a.status_code == 401] == ["mfa_invalid"]
