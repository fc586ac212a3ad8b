"""Pytest fixtures that start real servers (see ``tests/servers.py``); registered in ``tests/conftest.py``.

- ``redis_server``: a session-wide private ``redis-server`` (appendonly on), a :class:`RedisServer`
  with ``.url`` (``redis://127.0.0.1:PORT/0``), ``.port``, ``stop()``, ``start()``, ``kill()``.
- ``make_redis_server``: a factory of private servers owned by one test
  (``make_redis_server(appendonly=True)``), for tests that stop or kill their server.
- ``redis_cluster``: a session-wide 6-node Redis Cluster, a :class:`RedisClusterServers` with ``.url``
  (``redis+cluster://…`` with three seeds), ``kill_master_for(key)``, ``wait_failover(node)``,
  ``revive(node)``, ``flushall()``.
- ``postgres_url``: ``postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres`` of a session-wide
  private PostgreSQL.
- ``smtp_server``: a private SMTP server (aiosmtpd as its own process, ``tests/smtpd.py``) owned by
  one test, a :class:`SmtpServer` with ``.url``, ``.messages()``, ``stop()``, ``kill()``, ``start()``.

A missing binary fails the test with a message saying so; nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers import PostgresServer, RedisClusterServers, RedisSentinels, RedisServer, ServerError, SmtpServer


def _start(factory: Callable[[], Any]) -> Any:
    try:
        return factory()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server: RedisServer = _start(lambda: RedisServer(appendonly=True))
    with server:
        yield server


@pytest.fixture
def make_redis_server() -> Iterator[Callable[..., RedisServer]]:
    started: list[RedisServer] = []

    def make(**options: Any) -> RedisServer:
        server: RedisServer = _start(lambda: RedisServer(**options))
        started.append(server)
        try:
            return server.start()
        except ServerError as exc:
            pytest.fail(str(exc), pytrace=False)

    yield make
    for server in started:
        server.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    cluster: RedisClusterServers = _start(RedisClusterServers)
    with cluster:
        yield cluster


@pytest.fixture
def redis_sentinels() -> Iterator[RedisSentinels]:
    """A master, its replica and three sentinels, owned by one test (it may fail the master over)."""
    sentinels: RedisSentinels = _start(RedisSentinels)
    with sentinels:
        yield sentinels


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server: PostgresServer = _start(PostgresServer)
    with server:
        yield server.url


@pytest.fixture
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """A private SMTP server (aiosmtpd, its own process) owned by one test; ``.messages()`` reads
    what it took, ``.url`` is ``smtp://127.0.0.1:PORT``."""
    server: SmtpServer = _start(lambda: SmtpServer(tmp_path_factory.mktemp("smtp")).start())
    yield server
    server.stop()
