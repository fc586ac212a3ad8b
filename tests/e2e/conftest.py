"""One ``passgate serve`` per test module, started with the module's ``NODE_ARGS``, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.nodes import Node


@pytest.fixture(scope="module")
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    name = request.module.__name__.rsplit(".", 1)[-1]
    node = Node(tmp_path_factory.mktemp(name), *getattr(request.module, "NODE_ARGS", ())).start()
    yield node
    node.stop()


@pytest.fixture
def client(node: Node) -> Iterator[httpx.Client]:
    with node.client() as client:
        yield client
