"""A store on a Redis master watched by Sentinel, ``redis+sentinel://HOST:PORT[,HOST:PORT…]/SERVICE[/DB]``.

The hosts are sentinels; they name the master of ``SERVICE``, and redis-py's sentinel client
asks them again whenever a connection to the master fails, so after a failover (a replica
promoted) the same store object writes to the new master within seconds.  Everything else
(semantics, timeouts, errors, ``WAIT`` durability and the URL's ``wait`` and ``wait_timeout``
options) is :class:`passgate.stores.redis.RedisStore`'s: a write is answered only once a replica
has it, so a login answered 2xx survives the failover that promotes that replica.
``rediss+sentinel://`` speaks TLS to the master and the replicas.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from passgate.errors import ConfigError, StoreUnavailable
from passgate.stores.redis import RedisOptions, RedisStore, client_retry, split_hosts

__all__ = ["RedisSentinelStore"]

DEFAULT_PORT = 26379


class RedisSentinelStore(RedisStore):
    """The master of one Sentinel service."""

    def __init__(self, sentinel: Sentinel, service: str, *, options: RedisOptions | None = None,
                 client_options: dict[str, Any] | None = None) -> None:
        self._sentinel, self._service = sentinel, service
        self._client_options = client_options or {}
        super().__init__(sentinel.master_for(service, retry=client_retry(), **self._client_options), options=options)

    @classmethod
    def from_url(cls, url: str, **ignored: Any) -> RedisSentinelStore:
        """``redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]/SERVICE[/DB][?wait=…&wait_timeout=MS]``;
        the password is the master's (and the replicas'), the sentinels take none."""
        options, rest = RedisOptions.split_url(url)
        parts = urlsplit(rest)
        if parts.scheme not in ("redis+sentinel", "rediss+sentinel"):
            raise ConfigError("a Redis Sentinel store URL starts with redis+sentinel://")
        if parts.query:
            raise ConfigError("a Redis Sentinel store URL takes only the wait and wait_timeout options")
        service, _, db = parts.path.strip("/").partition("/")
        if not service or (db and not db.isdigit()):
            raise ConfigError("a Redis Sentinel store URL names its service: redis+sentinel://HOST:PORT/SERVICE[/DB]")
        sentinels, client = split_hosts(parts.netloc, tls=parts.scheme == "rediss+sentinel",
                                        default_port=DEFAULT_PORT, what="Redis Sentinel")
        timeouts = {name: client[name] for name in ("socket_connect_timeout", "socket_timeout")}
        client["db"] = int(db or 0)
        sentinel = Sentinel(sentinels, sentinel_kwargs=timeouts)  # type: ignore[no-untyped-call,unused-ignore]
        return cls(sentinel, service, options=options, client_options=client)

    async def _write(self, key: str, *args: Any) -> Any:
        """A write; when one fails, the master may have changed (a failover): the next write asks
        the master it then reaches whether it has a replica to wait for, rather than trusting
        what the old master said."""
        try:
            return await super()._write(key, *args)
        except StoreUnavailable:
            self._topology_changed()
            raise

    def _listener_client(self, attempt: int) -> Redis:
        """A client of its own for the subscription, on the master the sentinels name now."""
        client: Redis = self._sentinel.master_for(self._service, retry=Retry(NoBackoff(), 0), **self._client_options)
        return client

    async def _close_clients(self) -> None:
        await super()._close_clients()
        for sentinel in self._sentinel.sentinels:
            with contextlib.suppress(Exception):
                await sentinel.aclose()

