"""The HTTP server under ``passgate serve``: request heads are bounded, and what fits is served."""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from tests.e2e.api import bearer, login, register, tokens
from tests.nodes import Node

MAX_HEAD = 256 * 1024


def _exchange(node: Node, raw: bytes, *, chunk: int = 16 * 1024) -> bytes:
    """Send ``raw`` in chunks and read until the server closes or goes quiet."""
    host, port = node.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        try:
            for start in range(0, len(raw), chunk):
                sock.sendall(raw[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest arrived
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except (TimeoutError, ConnectionResetError):
            pass
    return received


@pytest.mark.parametrize("size", [MAX_HEAD + 1024, 4 * MAX_HEAD])
def test_a_head_over_the_limit_is_400_and_the_server_goes_on(node: Node, client: httpx.Client, size: int) -> None:
    head = b"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * size + b"\r\n\r\n"
    answer = _exchange(node, head)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"a" * 64 not in answer
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \x7f\r\n\r\n",  # a control byte in a value
        b"GET /api/me HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"b" * (MAX_HEAD + 10) + b"\r\n\r\n",
    ],
)
def test_a_request_the_parser_refuses_is_a_problem(node: Node, head: bytes) -> None:
    answer = _exchange(node, head)
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 400 Bad Request"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in headers.lower()
    assert b"connection: close" in headers.lower()
    problem = json.loads(body)
    assert problem["status"] == 400 and problem["code"] == "validation_failed"
    assert int(re.search(rb"content-length: (\d+)", headers.lower()).group(1)) == len(body)  # type: ignore[union-attr]


def test_a_header_split_over_many_packets_still_counts(node: Node) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"b" * (MAX_HEAD + 10) + b"\r\n\r\n"
    assert _exchange(node, head, chunk=1000).startswith(b"HTTP/1.1 400 ")


def test_pipelined_requests_with_bodies_each_get_an_answer(node: Node) -> None:
    body = b'{"username": "nobody-here", "password": "' + b"p" * 40_000 + b'"}'
    post = (b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = _exchange(node, post * 8 + last)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert len(statuses) == 9
    assert statuses[-1] == b"200"
    assert all(status in {b"401", b"422", b"429"} for status in statuses[:-1])


def test_a_100_kb_token_reaches_passgate_and_is_a_401(client: httpx.Client) -> None:
    response = client.get("/api/me", headers={"Authorization": "Bearer " + "x" * 100_000})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/api/posts"), ("POST", "/api/users"), ("POST", "/api/token"), ("GET", "/healthz"), ("GET", "/"),
     ("GET", "/api/me"), ("GET", "/nowhere")],
)
def test_two_authorization_headers_are_400_on_every_endpoint(node: Node, method: str, path: str) -> None:
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a.b.c\r\nAuthorization: Bearer d.e.f\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").encode()
    status, _, rest = _exchange(node, head).partition(b"\r\n")
    assert status == b"HTTP/1.1 400 Bad Request"
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "validation_failed"



@pytest.mark.parametrize(
    "path, methods",
    [("/api/session", {"GET", "POST", "DELETE"}), ("/api/me", {"GET", "DELETE"}),
     ("/api/sessions", {"GET", "DELETE"}), ("/api/posts/x", {"GET", "DELETE"})],
)
def test_a_405_lists_every_method_of_the_path(client: httpx.Client, path: str, methods: set[str]) -> None:
    response = client.request("PATCH", path)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert {m.strip() for m in response.headers["allow"].split(",")} == methods



def test_personal_answers_are_never_cached_and_logout_clears_the_site(client: httpx.Client) -> None:
    name = register(client)[0]
    session = login(client, name)
    tokens_ = tokens(client, name)
    for headers in (session.headers(csrf=False), bearer(str(tokens_["access_token"]))):
        for path in ("/api/me", "/api/sessions"):
            assert client.get(path, headers=headers).headers["cache-control"] == "no-store", path
    page = client.get("/", headers=session.headers(csrf=False))
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    out = client.delete("/api/session", headers=session.headers())
    assert out.status_code == 204 and out.headers["clear-site-data"] == '"cache"'
