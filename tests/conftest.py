from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.nodes import Node
from tests.stores.contract import clock  # noqa: F401  (shared fixture)

pytest_plugins = ["tests.fixtures_servers"]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """A factory of ``passgate serve`` processes sharing one data dir; all stopped afterwards."""
    started: list[Node] = []

    def start(*args: str, data_dir: Path | None = None, env: dict[str, str] | None = None) -> Node:
        node = Node(data_dir or tmp_path / "data", *args, env=env).start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()
