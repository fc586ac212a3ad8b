"""The board on PostgreSQL: users and posts in a real server the tests start themselves."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.api import assert_problem, login, register
from tests.e2e.test_mail import PASSWORD, link_of, mail_to, registered, token_of
from tests.nodes import SHARED_SECRET, Node
from tests.servers import SmtpServer

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


def test_mail_flows_on_postgres_with_two_nodes(nodes: Callable[..., Node], postgres_url: str,
                                               smtp_server: SmtpServer, tmp_path: Path) -> None:
    one, two = (nodes("--database-url", postgres_url, "--smtp-url", smtp_server.url, env=SHARED_SECRET,
                      data_dir=tmp_path / f"node{n}") for n in range(2))
    with one.client() as client, two.client() as other:
        name, address = registered(client, smtp_server)
        rival, _ = registered(other, smtp_server, verified=False)
        session = login(other, rival)
        claim = other.put("/api/me/email", json={"email": address, "password": PASSWORD}, headers=session.headers())
        assert claim.status_code == 202
        rival_mail = mail_to(smtp_server, address, count=2)[-1]
        assert_problem(other.post("/api/email/verify", json={"token": token_of(link_of(rival_mail))}), 409,
                       "email_taken")
        for n in range(4):  # queued on both nodes, delivered by both: each once
            assert (client if n % 2 else other).post("/api/password/forgot", json={"email": address}).status_code \
                == 202
        mails = mail_to(smtp_server, address, count=6)
        reset = other.post("/api/password/reset", json={"token": token_of(link_of(mails[-1])),
                                                        "new_password": "on postgres now"})
        assert reset.status_code == 204
        assert client.post("/api/session", json={"username": name, "password": "on postgres now"}).status_code == 200
        time.sleep(2)
        assert len([m for m in smtp_server.messages() if m["To"] == address]) == 6
        assert len({m["Message-ID"] for m in smtp_server.messages()}) == len(smtp_server.messages())
