"""A store on one Redis server (``redis://HOST:PORT/DB``), and what it shares with the cluster store.

Every process that names the same Redis is one deployment: values, counters and sets live in
Redis with their TTLs (``PX``, in milliseconds), so keys expire by themselves, and change notices
travel over pub/sub on one channel.

Semantics
    ``replace`` is a compare-and-set in a single-key Lua script: it never brings back a deleted key.
    ``set_if_absent`` is ``SET … NX PX``.
    ``incr`` is a fixed window: ``INCR`` and ``PEXPIRE … NX`` in one script.  ``add_member`` extends
    the set's life to at least the TTL it is given.  ``delete`` and ``get_many`` take keys under one
    ``{hash tag}``, so on a cluster they touch a single slot.

Failures
    Connecting times out after 0.3 s, a reply after 0.5 s.  A command that met a broken connection
    is retried once; one whose reply timed out never is, since Redis may have run it (sent again, a
    ``set_if_absent`` would find the key it took itself and answer False).  A Redis that refuses
    connections fails a request in milliseconds, one that does not answer in half a second.
    Every operation also has a hard ceiling of two seconds (plus the ``WAIT`` time of a
    write), whatever the client library does.  Every failure of an operation is raised as
    :class:`passgate.errors.StoreUnavailable`, with a message that names no key: Redis errors, and
    anything else the client library raises (it has races of its own while a cluster fails over),
    which is also logged with its traceback, since it may be a bug.  The same store object
    recovers by itself once Redis is back.

Durability (``WAIT``)
    A write answered OK by a master can be lost when its replica takes over before receiving it.
    So when the master has at least one replica, every write (``set``, ``replace``, ``set_if_absent``,
    ``delete``, ``add_member``, ``remove_members``; not the rate-limit counters) is followed, on the same
    connection, by ``WAIT 1 <wait_timeout>``; if no replica acknowledges in time the write raises
    StoreUnavailable (it may or may not have been kept).  The URL chooses:

    - ``?wait=auto`` (the default): wait when the master (on a cluster, the master of the key's
      slot) has replicas connected, as its ``INFO replication`` says (read again every 5 s, and at
      once after a write found no replica); a Redis without replicas makes no such promise.
    - ``?wait=1``: always wait; a write fails while no replica is connected.
    - ``?wait=0``: never wait.
    - ``?wait_timeout=MS``: how long a write waits for a replica (default 500 ms).

Change notices
    :meth:`listen` subscribes to the channel and yields ``None`` once subscribed, meaning "anything
    cached before is suspect", and ``b""`` for each heartbeat that came back.  A heartbeat is a
    round trip on the channel itself: every 0.25 s the listener publishes its own heartbeat (on a
    cluster, one through each master but the node it subscribed through, so that each crosses the
    cluster bus) and yields ``b""`` once all of them have come back over its subscription, before
    the next round.  That proves what a PONG from the subscribed node does not: that a notice
    published before the round was delivered.  Heartbeats of other listeners are ignored.  When
    the subscription drops (Redis restarted, the connection broken, no heartbeat back for 2 s) it
    reconnects with a short backoff; it yields ``None`` as soon as the subscription drops and again
    once subscribed anew.  It never raises; it ends when the store is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from passgate.errors import ConfigError, PassgateError, StoreUnavailable

__all__ = ["RedisOptions", "RedisStore"]

T = TypeVar("T")

log = logging.getLogger("passgate.stores")

WaitMode = Literal["auto", "always", "never"]

CHANNEL = "passgate:changes"
CONNECT_TIMEOUT = 0.3
SOCKET_TIMEOUT = 0.5
#: A listener publishes a round of its own heartbeats this often (each round that comes back in time
#: is yielded as a ``b""``, which lets nodes trust their caches), and reconnects after
#: ``SILENCE_LIMIT`` without one.
HEARTBEAT = 0.25
SILENCE_LIMIT = 2.0
#: What a heartbeat on the channel starts with; no change notice does.
HEARTBEAT_PREFIX = b"\x00passgate-heartbeat:"

#: Errors that mean "Redis did not answer as it should"; all become StoreUnavailable.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError, TimeoutError)

_WAIT_VALUES: dict[str, WaitMode] = {
    "auto": "auto",
    "1": "always",
    "yes": "always",
    "true": "always",
    "always": "always",
    "0": "never",
    "no": "never",
    "false": "never",
    "never": "never",
}

# A single-key compare-and-set: a missing (deleted, expired) key never compares equal.
REPLACE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

# A fixed window: the first INCR starts it, later ones do not move its end.
INCR_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('PTTL', KEYS[1])}
"""

PEEK_SCRIPT = """
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
"""

# Add a member, and make the set live at least ARGV[2] ms more (PTTL is -1 for a new set).
ADD_MEMBER_SCRIPT = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class RedisOptions:
    """What passgate adds to a Redis URL's options; see the module docstring."""

    wait: WaitMode = "auto"
    wait_timeout: float = 0.5
    #: The ceiling of one operation, on top of the ``WAIT`` time of a write.
    deadline: float = 2.0
    channel: str = CHANNEL
    #: How long a master's replica count (``INFO replication``) is trusted before it is read again.
    replica_check_interval: float = 5.0

    def __post_init__(self) -> None:
        if self.wait not in ("auto", "always", "never"):
            raise ConfigError(f"wait must be auto, always or never, not {self.wait!r}")
        if not 0 < self.wait_timeout <= 60 or not 0 < self.deadline <= 60:
            raise ConfigError("wait_timeout and deadline must be between 0 and 60 seconds")

    @classmethod
    def split_url(cls, url: str) -> tuple[RedisOptions, str]:
        """Take passgate's options (``wait``, ``wait_timeout``) out of a URL's query."""
        parts = urlsplit(url)
        options = cls()
        rest: list[tuple[str, str]] = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name == "wait":
                if value.lower() not in _WAIT_VALUES:
                    raise ConfigError(f"the store URL's wait option must be auto, 1 or 0, not {value!r}")
                options = replace(options, wait=_WAIT_VALUES[value.lower()])
            elif name == "wait_timeout":
                try:
                    options = replace(options, wait_timeout=int(value) / 1000)
                except ValueError:
                    raise ConfigError("the store URL's wait_timeout is a number of milliseconds") from None
            else:
                rest.append((name, value))
        return options, urlunsplit(parts._replace(query=urlencode(rest)))


def client_retry() -> Retry:
    """At most one quick retry of a command that met a broken connection, and none of one whose
    reply timed out (redis-py retries both by default; its TimeoutError is no ConnectionError).
    A late reply does not say the command was lost: Redis may have run it, and a second run would
    answer for itself (``SET NX`` finds the key the first one took, ``INCR`` counts twice)."""
    return Retry(ExponentialBackoff(cap=0.05, base=0.01), 1, supported_errors=(RedisConnectionError,))


def split_hosts(
    netloc: str, *, tls: bool, default_port: int, what: str
) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The hosts of a many-host store URL (``[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]``, an IPv6
    address in brackets) and the connection options its credentials, ``tls`` and the timeouts make."""
    userinfo, _, hosts = netloc.rpartition("@")
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT}
    if userinfo:
        username, _, password = userinfo.partition(":")
        options |= {"username": unquote(username) or None, "password": unquote(password) or None}
    if tls:
        options["ssl"] = True
    parsed = [_host(host.strip(), default_port, what) for host in hosts.split(",") if host.strip()]
    if not parsed:
        raise ConfigError(f"a {what} store URL names at least one HOST:PORT")
    return parsed, options


def _host(text: str, default_port: int, what: str) -> tuple[str, int]:
    if text.startswith("["):  # [IPv6]:PORT
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host or (port and not port.isdigit()):
        raise ConfigError(f"a {what} store URL's hosts are HOST:PORT, not {text!r}")
    return unquote(host), int(port) if port else default_port


def milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisStoreBase(ABC):
    """The Store methods, written once over a few hooks that a one-server and a cluster store provide."""

    shared = True

    def __init__(self, options: RedisOptions) -> None:
        self._options = options
        self._closed = False
        self._pubsubs: set[PubSub] = set()
        self._beating: asyncio.Future[list[Any]] | None = None
        #: master name -> (connected replicas, when read)
        self._replica_counts: dict[str, tuple[int, float]] = {}

    # -- what a backend provides ---------------------------------------------------------------

    @abstractmethod
    async def _execute(self, *args: Any) -> Any:
        """Run one command where its key lives."""

    @abstractmethod
    async def _execute_durably(self, key: str, *args: Any) -> Any:
        """Run a write on ``key``, then ``WAIT`` for a replica when its master has one."""

    @abstractmethod
    def _listener_client(self, attempt: int) -> Redis:
        """A fresh client, without retries, to subscribe through; ``attempt`` counts failures so far."""

    @abstractmethod
    def _heartbeat_routes(self, listener: Redis) -> list[Callable[[bytes], Awaitable[Any]]]:
        """One ``PUBLISH`` of a heartbeat per route that a notice from another node may take to
        ``listener``'s subscription."""

    @abstractmethod
    async def _ping(self) -> None: ...

    @abstractmethod
    async def _close_clients(self) -> None: ...

    # -- shared plumbing -------------------------------------------------------------------------

    async def _guard(self, operation: Awaitable[T], *, extra: float = 0.0) -> T:
        """Await ``operation`` under the deadline; any Redis failure becomes StoreUnavailable."""
        if self._closed:
            close = getattr(operation, "close", None)
            if close is not None:
                close()
            raise StoreUnavailable("the Redis store is closed")
        try:
            async with asyncio.timeout(self._options.deadline + extra):
                return await operation
        except PassgateError:
            raise
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"the Redis store did not answer ({type(exc).__name__})") from exc
        except Exception as exc:
            # Not a Redis error: redis-py's cluster client closes every connection, those in use
            # included, when a command meets CLUSTERDOWN, and a request then in flight fails with
            # whatever that left behind (AttributeError on a connection it closed).  The store did
            # not answer; but it may as well be a bug, so it is logged, never swallowed.
            log.error("unexpected %s from the Redis client", type(exc).__name__, exc_info=exc)
            raise StoreUnavailable(f"the Redis store did not answer ({type(exc).__name__})") from exc

    async def _write(self, key: str, *args: Any) -> Any:
        return await self._guard(self._execute_durably(key, *args), extra=self._options.wait_timeout)

    def _wait_args(self) -> tuple[str, int, int]:
        return ("WAIT", 1, milliseconds(self._options.wait_timeout))

    async def _should_wait(self, master: str, read_info: Callable[[], Awaitable[Any]]) -> bool:
        """Whether a write to ``master`` waits for a replica; ``read_info`` runs INFO replication there."""
        if self._options.wait != "auto":
            return self._options.wait == "always"
        count, read_at = self._replica_counts.get(master, (0, -math.inf))
        if time.monotonic() - read_at > self._options.replica_check_interval:
            info = await read_info()
            count = int(info.get("connected_slaves", 0)) if isinstance(info, Mapping) else 0
            self._replica_counts[master] = (count, time.monotonic())
        return count > 0

    def _check_acked(self, acked: Any) -> None:
        if int(acked) < 1:
            self._topology_changed()
            wait_ms = milliseconds(self._options.wait_timeout)
            raise StoreUnavailable(f"no Redis replica acknowledged the write within {wait_ms} ms")

    def _topology_changed(self) -> None:
        """A hint that masters or replicas may have changed: look again before the next write."""
        self._replica_counts.clear()

    # -- the Store protocol ------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        value = await self._guard(self._execute("GET", key))
        return None if value is None else bytes(value)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values = await self._guard(self._execute("MGET", *keys))
        return [None if value is None else bytes(value) for value in values]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._write(key, "SET", key, value, "PX", milliseconds(ttl))

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        written = await self._write(key, "EVAL", REPLACE_SCRIPT, 1, key, expected, value, milliseconds(ttl))
        return int(written) == 1

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        written = await self._write(key, "SET", key, value, "PX", milliseconds(ttl), "NX")
        return bool(written)  # OK (True or b"OK", as the path returns it) or None

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self._write(keys[0], "DEL", *keys))

    async def incr(self, key: str, window: float) -> tuple[int, float]:
        count, left = await self._guard(self._execute("EVAL", INCR_SCRIPT, 1, key, milliseconds(window)))
        return int(count), max(0, int(left)) / 1000

    async def peek_count(self, key: str) -> tuple[int, float]:
        count, left = await self._guard(self._execute("EVAL", PEEK_SCRIPT, 1, key))
        if int(count) <= 0 or int(left) <= 0:
            return 0, 0.0
        return int(count), int(left) / 1000

    async def add_member(self, key: str, member: str, ttl: float) -> None:
        await self._write(key, "EVAL", ADD_MEMBER_SCRIPT, 1, key, member, milliseconds(ttl))

    async def members(self, key: str) -> list[str]:
        found = await self._guard(self._execute("SMEMBERS", key))
        return sorted(bytes(member).decode() for member in found)

    async def remove_members(self, key: str, *members: str) -> None:
        if members:
            await self._write(key, "SREM", key, *members)

    async def publish(self, message: bytes) -> None:
        await self._guard(self._execute("PUBLISH", self._options.channel, message))

    async def ping(self) -> None:
        await self._guard(self._ping())

    async def listen(self) -> AsyncIterator[bytes | None]:
        failures = 0
        while not self._closed:
            client = self._listener_client(failures)
            pubsub = client.pubsub()
            self._pubsubs.add(pubsub)
            subscribed = False
            try:
                await self._subscribe(pubsub)
                failures, subscribed = 0, True
                yield None  # (re)subscribed: whatever the caller cached before is suspect
                rounds = _Rounds()
                while True:
                    message = await self._next_message(pubsub, client, rounds)
                    if message is None:
                        break
                    yield message
            except Exception:  # the subscription dropped; never raise out of listen
                failures += 1
            finally:
                self._pubsubs.discard(pubsub)
                await _close_quietly(pubsub, client)
            if subscribed and not self._closed:
                yield None  # dropped: notices are lost from now until subscribed again, so say so at once
            if not self._closed:
                await asyncio.sleep(min(1.0, 0.05 * 2 ** min(failures, 5)))

    async def _subscribe(self, pubsub: PubSub) -> None:
        async with asyncio.timeout(self._options.deadline):
            await pubsub.subscribe(self._options.channel)
            while True:
                reply = await pubsub.get_message(timeout=self._options.deadline)
                if reply is not None and reply.get("type") == "subscribe":
                    return

    async def _next_message(self, pubsub: PubSub, listener: Redis, rounds: _Rounds) -> bytes | None:
        """The next notice, or ``b""`` when a round of heartbeats came back; None once the store is
        closed; raises when the subscription is dead or no longer hears the channel."""
        while not self._closed:
            now = time.monotonic()
            if now - rounds.completed_at > SILENCE_LIMIT:
                raise ConnectionError("no heartbeat came back over the channel")
            if now - rounds.sent_at >= HEARTBEAT:
                self._beat(listener, rounds, now)
            reply = await pubsub.get_message(timeout=HEARTBEAT / 4)
            if reply is None or reply.get("type") != "message":
                continue
            data = bytes(reply["data"])
            if not data.startswith(HEARTBEAT_PREFIX):
                return data
            if rounds.came_back(data, time.monotonic()):
                return b""
        return None

    def _beat(self, listener: Redis, rounds: _Rounds, now: float) -> None:
        """Publish a new round in the background; a failure only means that it will not come back.

        A round still out (a slow or dead node) is never cancelled (cancelling redis-py's cluster
        client mid-command can leave a socket behind): no new round starts until it ends, within
        the client's socket timeouts, and meanwhile no round comes back, so nothing is vouched for."""
        if self._beating is not None and not self._beating.done():
            return
        routes = self._heartbeat_routes(listener)
        messages = rounds.start(len(routes), now)
        sends = (route(message) for route, message in zip(routes, messages, strict=True))
        self._beating = asyncio.ensure_future(asyncio.gather(*sends, return_exceptions=True))

    async def aclose(self) -> None:
        self._closed = True
        if self._beating is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._beating, 1.0)
        for pubsub in list(self._pubsubs):
            with contextlib.suppress(Exception):
                await _aclose(pubsub)
        self._pubsubs.clear()
        await self._close_clients()


class _Rounds:
    """One subscription's heartbeats: a round is one message per route, complete once all came back
    before the next round began (a late one proves nothing about now)."""

    __slots__ = ("_number", "_tag", "_waiting", "completed_at", "sent_at")

    def __init__(self) -> None:
        self._tag = HEARTBEAT_PREFIX + secrets.token_hex(8).encode() + b":"
        self._number = 0
        self._waiting: set[bytes] = set()
        self.sent_at = -math.inf
        self.completed_at = time.monotonic()  # a new subscription has SILENCE_LIMIT to hear one

    def start(self, routes: int, now: float) -> list[bytes]:
        self._number += 1
        messages = [self._tag + b"%d:%d" % (self._number, route) for route in range(routes)]
        self._waiting = set(messages)
        self.sent_at = now
        return messages

    def came_back(self, message: bytes, now: float) -> bool:
        """Whether ``message`` completed the current round (another listener's never does)."""
        if message not in self._waiting:
            return False
        self._waiting.discard(message)
        if self._waiting:
            return False
        self.completed_at = now
        return True


async def _aclose(resource: Any) -> None:
    await resource.aclose()  # (PubSub.aclose is not annotated)


async def _close_quietly(pubsub: PubSub, client: Redis) -> None:
    with contextlib.suppress(Exception):
        await _aclose(pubsub)
    with contextlib.suppress(Exception):
        await client.aclose(close_connection_pool=True)


class RedisStore(RedisStoreBase):
    """One Redis server (or a proxy in front of one), through ``redis.asyncio.Redis``."""

    def __init__(self, client: Redis, *, options: RedisOptions | None = None) -> None:
        super().__init__(options or RedisOptions())
        self._client = client
        self._command: Callable[..., Awaitable[Any]] = client.execute_command

    @classmethod
    def from_url(cls, url: str, **client_options: Any) -> RedisStore:
        """``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?wait=auto|1|0&wait_timeout=MS]`` (or ``rediss://``)."""
        options, rest = RedisOptions.split_url(url)
        if urlsplit(rest).scheme not in ("redis", "rediss"):
            raise ConfigError("a Redis store URL starts with redis:// or rediss://")
        settings: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": SOCKET_TIMEOUT,
            "retry": client_retry(),
            **client_options,
        }
        try:
            client = Redis.from_url(rest, **settings)
        except (ValueError, TypeError):  # (the message may quote the URL, password included)
            raise ConfigError("the Redis store URL is not usable") from None
        return cls(client, options=options)

    async def _execute(self, *args: Any) -> Any:
        return await self._command(*args)

    async def _execute_durably(self, key: str, *args: Any) -> Any:
        if not await self._should_wait("", lambda: self._command("INFO", "replication")):
            return await self._command(*args)
        # WAIT counts the replicas that have this connection's writes: it follows the write on one connection.
        pipe: Any = self._client.pipeline(transaction=False)
        pipe.execute_command(*args)
        pipe.execute_command(*self._wait_args())
        result, acked = await pipe.execute()
        self._check_acked(acked)
        return result

    def _listener_client(self, attempt: int) -> Redis:
        pool = self._client.connection_pool
        kwargs = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
        return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))

    def _heartbeat_routes(self, listener: Redis) -> list[Callable[[bytes], Awaitable[Any]]]:
        return [partial(self._command, "PUBLISH", self._options.channel)]

    async def _ping(self) -> None:
        await self._command("PING")

    async def _close_clients(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.aclose()
