"""A store on a Redis Cluster, ``redis+cluster://HOST:PORT[,HOST:PORT…]``, through redis-py's RedisCluster.

The hosts of the URL are seeds: the client reads the slot map from the first that answers and
follows the topology from then on.  A connection error, ``MOVED`` or ``CLUSTERDOWN`` makes it read
the slot map again, so after a master fails over to its replica the same store object serves its
slots again within seconds, without being recreated.

Everything else (semantics, timeouts, errors, ``WAIT`` durability and the URL's ``wait`` and
``wait_timeout`` options) is as in :mod:`passgate.stores.redis`; here a write waits for a replica
when the master of the key's slot has one connected.  Right after a failover the promoted master
has no replica (its old master is down), so writes go on without ``WAIT`` until a replica
reconnects: the cluster is then only as safe as a Redis without replicas.

Change notices use a plain ``PUBLISH``, which the cluster bus carries to every node; the listener
subscribes through one node and moves to the next one when that node dies or stops hearing the
channel.  Its heartbeats go out through every master but the node it subscribed through, so that
each round crosses the bus from every master: a node cut off the bus (it still answers PING) is
noticed within a heartbeat round, not trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode, PipelineCommand
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AskError, ClusterDownError, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError

from passgate.errors import ConfigError, StoreUnavailable
from passgate.stores.redis import (
    CONNECT_TIMEOUT,
    REDIS_ERRORS,
    SOCKET_TIMEOUT,
    RedisOptions,
    RedisStoreBase,
    client_retry,
    split_hosts,
)

__all__ = ["RedisClusterStore"]

DEFAULT_PORT = 6379


class _ClusterClient(RedisCluster):
    """redis-py's cluster client, but a command whose reply timed out is not sent again, as
    :func:`~passgate.stores.redis.client_retry` says; the cluster client retries by this list, not
    by the errors its ``retry`` names.  ``CLUSTERDOWN`` and an uncovered slot mean the command did
    not run, a broken connection that it most likely did not."""

    # (typed in redis-py as exactly its own tuple, TimeoutError included)
    ERRORS_ALLOW_RETRY = (RedisConnectionError, ClusterDownError, SlotNotCoveredError)  # type: ignore[assignment]


class RedisClusterStore(RedisStoreBase):
    """A Redis Cluster; keys under one ``{hash tag}`` share a slot."""

    def __init__(
        self,
        client: RedisCluster,
        *,
        options: RedisOptions | None = None,
        node_options: dict[str, Any] | None = None,
    ) -> None:
        """``node_options`` (credentials, TLS, timeouts) are used to subscribe to a single node."""
        super().__init__(options or RedisOptions())
        self._client = client
        self._node_options = node_options or {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": SOCKET_TIMEOUT,
        }
        self._seeds = [(node.host, int(node.port)) for node in client.startup_nodes]
        self._refresh: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisClusterStore:
        """``redis+cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT…][?wait=auto|1|0&wait_timeout=MS]``.

        ``rediss+cluster://`` connects with TLS.
        """
        options, rest = RedisOptions.split_url(url)
        parts = urlsplit(rest)
        if parts.scheme not in ("redis+cluster", "rediss+cluster"):
            raise ConfigError("a Redis Cluster store URL starts with redis+cluster://")
        if parts.query:
            raise ConfigError("a Redis Cluster store URL takes only the wait and wait_timeout options")
        if parts.path not in ("", "/", "/0"):
            raise ConfigError("a Redis Cluster has only database 0")
        seeds, node_options = split_hosts(parts.netloc, tls=parts.scheme == "rediss+cluster",
                                          default_port=DEFAULT_PORT, what="Redis Cluster")
        client = _ClusterClient(
            startup_nodes=[ClusterNode(host, port) for host, port in seeds],
            retry=client_retry(),
            **node_options,
        )
        return cls(client, options=options, node_options=node_options)

    # -- hooks of RedisStoreBase -----------------------------------------------------------------

    async def _execute(self, *args: Any) -> Any:
        return await self._client.execute_command(*args)

    async def _execute_durably(self, key: str, *args: Any) -> Any:
        await self._client.initialize()
        for attempt in range(2):
            node = self._client.get_node_from_key(key)
            if node is None:
                raise SlotNotCoveredError("no master for the slot")
            # WAIT counts the replicas that have this connection's writes, so it must follow the write on
            # the same connection to the key's master: both go to that node as one pipeline, without the
            # cluster pipeline's retries (a WAIT retried on another connection would prove nothing).
            write, wait = PipelineCommand(0, *args), PipelineCommand(1, *self._wait_args())
            try:
                if not await self._should_wait(node.name, partial(_info_replication, node)):
                    return await self._client.execute_command(*args)
                await node.execute_pipeline([write, wait])
            except REDIS_ERRORS:
                self._topology_changed()  # the node may be gone: the client reads the map again
                raise
            if isinstance(write.result, (AskError, TryAgainError)) and not attempt:
                # the slot moved since the map was read (MOVED is an AskError): read it again, once
                await self._client.nodes_manager.initialize()
                continue
            for command in (write, wait):
                if isinstance(command.result, BaseException):
                    self._topology_changed()
                    raise command.result
            self._check_acked(wait.result)
            return write.result
        raise AssertionError("unreachable")

    def _topology_changed(self) -> None:
        """Forget the replica counts and read the slot map again, in the background."""
        super()._topology_changed()
        if self._closed or (self._refresh is not None and not self._refresh.done()):
            return
        self._refresh = asyncio.get_running_loop().create_task(self._refresh_slots())

    async def _refresh_slots(self) -> None:
        with contextlib.suppress(StoreUnavailable):  # the next command reads the map again
            await self._guard(self._client.nodes_manager.initialize(), extra=self._options.deadline)

    def _listener_client(self, attempt: int) -> Redis:
        known = [(node.host, int(node.port)) for node in self._client.nodes_manager.nodes_cache.values()]
        addresses = list(dict.fromkeys([*known, *self._seeds]))
        host, port = addresses[attempt % len(addresses)]
        return Redis(host=host, port=port, retry=Retry(NoBackoff(), 0), **self._node_options)

    def _heartbeat_routes(self, listener: Redis) -> list[Callable[[bytes], Awaitable[Any]]]:
        address = listener.connection_pool.connection_kwargs
        here = (address.get("host"), int(address.get("port", 0)))
        masters = self._client.get_primaries()
        others = [node for node in masters if (node.host, int(node.port)) != here] or masters
        publish = self._client.execute_command
        if not others:  # the slot map is not read yet: wherever the client sends a PUBLISH
            return [partial(publish, "PUBLISH", self._options.channel)]
        return [partial(publish, "PUBLISH", self._options.channel, target_nodes=node) for node in others]

    async def _ping(self) -> None:
        await self._client.execute_command("PING", target_nodes=RedisCluster.PRIMARIES)

    async def _close_clients(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(BaseException):
                await self._refresh
        with contextlib.suppress(Exception):
            await self._client.aclose()


async def _info_replication(node: ClusterNode) -> Any:
    return await node.execute_command("INFO", "replication")
