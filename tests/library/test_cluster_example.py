"""``examples/cluster``: two uvicorn processes of the example app on one private redis-server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.api import assert_problem, bearer, login, register, tokens
from tests.library.apps import EXAMPLES, AppProcess, check_hello
from tests.servers import RedisServer

CLUSTER = EXAMPLES / "cluster"


@pytest.fixture
def two_nodes(tmp_path: Path, make_redis_server: Callable[..., RedisServer]) -> Iterator[list[AppProcess]]:
    redis = make_redis_server()
    env = {
        "PASSGATE_STORE": redis.url,
        "PASSGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared' / 'passgate.db'}",
        "PASSGATE_SECRET": "example-cluster-secret-0123456789abcdefghij",
    }
    (tmp_path / "shared").mkdir()
    nodes: list[AppProcess] = []
    try:
        for name in ("a", "b"):
            node = AppProcess("cluster_app:app", cwd=tmp_path / name, app_dir=CLUSTER, env={**env, "NODE_NAME": name})
            nodes.append(node.start())
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def eventually_refused(client: httpx.Client, url: str, headers: dict[str, str], within: float = 1.0) -> None:
    deadline = time.monotonic() + within
    while True:
        response = client.get(url, headers=headers)
        if response.status_code == 401:
            assert_problem(response, 401)
            return
        assert time.monotonic() < deadline, f"still {response.status_code} after {within} s: {response.text}"
        time.sleep(0.05)


def test_each_node_passes_the_readme_checks(two_nodes: list[AppProcess]) -> None:
    for node in two_nodes:
        check_hello(node.url)


def test_a_login_on_one_node_is_served_and_ended_on_the_other(two_nodes: list[AppProcess]) -> None:
    a, b = two_nodes
    with a.client() as on_a, b.client() as on_b:
        name, password = register(on_a)
        pair = tokens(on_a, name, password)
        hello = on_b.get("/hello", headers=bearer(pair["access_token"]))
        assert hello.status_code == 200, hello.text
        assert hello.json() == {"hello": name, "node": "b"}

        session = login(on_b, name, password)
        assert on_a.get("/hello", headers=session.headers(csrf=False)).json() == {"hello": name, "node": "a"}
        assert on_a.delete("/api/session", headers=session.headers()).status_code == 204
        eventually_refused(on_b, b.url + "/hello", session.headers(csrf=False))

        assert on_b.post("/api/token/revoke", headers=bearer(pair["access_token"])).status_code == 204
        eventually_refused(on_a, a.url + "/hello", bearer(pair["access_token"]))
