"""The product's own ``/openapi.json`` tells the truth: schemathesis, every check, against ``passgate serve``.

Each generated request is sent with a login of its own (a bearer token, or a cookie with its
``X-CSRF-Token``), so that an operation that ends the login (``DELETE /api/session``, ``POST
/api/token/revoke``) spoils no other case.  The examples are bounded and derandomized: a fuzz test
that runs the same requests every time, not a timed one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.api import bearer, login, register, tokens
from tests.nodes import Node

# Mail goes to the log, so that the mail flows answer as they do on a deployment with a mail server.
NODE_ARGS = ("--login-limit", "1000000/5m", "--mail-limit", "1000000/5m", "--smtp-url", "log://")
EXAMPLES = 12

# Checks that cannot hold for one operation by the contract's own rules; nothing else is excluded.
EXCLUDED: dict[str, list[Any]] = {
    # A username is NFKC-normalised before its length is counted, and its letters must be of one
    # script: rules no pattern that both ECMA-262 and Python read can say (the schema says the rest).
    "POST /api/users": [positive_data_acceptance],
    # `before` must be a post id this server issued (the contract: any other is a 422); a schema
    # cannot list the ids a server issued.
    "GET /api/posts": [positive_data_acceptance],
    # A mailed token is one this server issued and mailed (the contract: any other is token_invalid).
    "POST /api/email/verify": [positive_data_acceptance],
    "POST /api/password/reset": [positive_data_acceptance],
    # A new passkey is an authenticator's signed answer to a challenge this server issued (any other is
    # webauthn_failed, 400); a schema cannot make one.
    "POST /api/webauthn/register": [positive_data_acceptance],
}

api = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(node: Node) -> Any:
    return schemathesis.openapi.from_url(node.url + "/openapi.json")


@pytest.fixture(scope="module")
def user(node: Node) -> str:
    with node.client() as client:
        return register(client)[0]


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's pytest plugin reads and renames Node._nodeid, which pytest 9.2 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture
def client(node: Node) -> Iterator[httpx.Client]:
    with node.client() as client:
        yield client


def validate(case: Any, node: Node, credential: Callable[[], dict[str, str]]) -> None:
    # A case generated without its credential (or with a broken one, in negative mode) is sent as
    # it is, to be refused; any other case is sent with a new login of its own.
    spoiled = case.meta is not None and any(
        case.meta.is_negative_at(where) for where in (ParameterLocation.COOKIE, ParameterLocation.HEADER))
    case.call_and_validate(base_url=node.url, headers=None if spoiled else credential(),
                           checks=list(CHECKS.get_all()), excluded_checks=EXCLUDED.get(case.operation.label, []))


FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])


@api.parametrize()
@FUZZ
def test_with_a_bearer_token(case: Any, node: Node, client: httpx.Client, user: str) -> None:
    validate(case, node, lambda: bearer(tokens(client, user)["access_token"]))


@api.parametrize()
@FUZZ
def test_with_a_cookie(case: Any, node: Node, client: httpx.Client, user: str) -> None:
    validate(case, node, lambda: login(client, user).headers())  # with its X-CSRF-Token


def test_the_document_names_every_problem_code(node: Node) -> None:
    with node.client() as client:
        document = client.get("/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert "unsupported_media_type" in problem["properties"]["code"]["enum"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
    with httpx.Client(base_url=node.url) as client:
        assert client.post("/api/users", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
