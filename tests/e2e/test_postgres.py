"""The board on PostgreSQL: users and posts in a real server the tests start themselves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.api import assert_problem, login, register
from tests.nodes import SHARED_SECRET, Node

pytestmark = pytest.mark.postgres


def test_flow_on_postgres(nodes: Callable[..., Node], postgres_url: str) -> None:
    node = nodes("--database-url", postgres_url, env=SHARED_SECRET)
    with node.client() as client:
        name, _ = register(client)
        assert_problem(client.post("/api/users", json={"username": name.upper(), "password": "correct horse"}),
                       409, "username_taken")
        session = login(client, name)
        post = client.post("/api/posts", json={"title": "on postgres", "body": "b"}, headers=session.headers())
        assert post.status_code == 201
        assert client.get(f"/api/posts/{post.json()['id']}").json()["author"]["username"] == name
        assert client.delete(f"/api/posts/{post.json()['id']}", headers=session.headers()).status_code == 204
        assert client.get(f"/api/posts?before={post.json()['id']}").status_code == 200  # the cursor outlives it
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/api/session", "/api/token", "/api/users"])
def test_a_nul_in_a_name_is_a_client_error_on_postgres(nodes: Callable[..., Node], postgres_url: str,
                                                       path: str) -> None:
    # PostgreSQL refuses NUL in text, so a lookup of such a name failed in the driver: 503, as if the store were down.
    node = nodes("--database-url", postgres_url, env=SHARED_SECRET)
    with node.client() as client:
        answer = client.post(path, json={"username": "ada\x00min", "password": "correct horse"})
        if path == "/api/users":
            assert_problem(answer, 422, "validation_failed")
        else:
            assert_problem(answer, 401, "invalid_credentials")
