"""Password hashing with argon2id, always off the event loop.

Unknown users are checked against a dummy hash made with the same parameters, so a login for a
name that does not exist costs the same time and answers the same as a wrong password.

A hash that waits for a thread is dropped when its client hangs up (see :data:`client_departure`):
under a storm of logins whose clients time out, the server would otherwise spend every core on
answers nobody reads, and the clients still waiting would time out in turn.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import os
import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass

from argon2 import Parameters, Type, extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import ARGON2_VERSION, core, ffi
from argon2.low_level import lib as _lib  # type: ignore[attr-defined]  # as in core()'s documented example

from passgate.errors import ClientGone

#: Set by the web layer for each request: called once the request's body has been read, it returns
#: an awaitable that completes when the client hangs up.  Unset: the hash is always waited for.
client_departure: ContextVar[Callable[[], Awaitable[object]] | None] = ContextVar(
    "passgate_client_departure", default=None
)


@dataclass(frozen=True)
class HashPolicy:
    """argon2id parameters (RFC 9106's second recommendation by default)."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


@dataclass(frozen=True)
class Verdict:
    ok: bool
    #: A fresh hash to store when the stored one used other parameters.
    new_hash: str | None = None


def _lower_priority() -> None:
    """Run this hashing thread at idle priority: a login storm uses every spare cycle, yet requests
    that need no hash (the event loop's thread) keep their latency.  Linux schedules threads one by
    one, so this lowers this worker only; the threads libargon2 starts for its lanes inherit it.
    SCHED_IDLE still gets a small share under full load, so logins slow down but never stop."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _argon2id(password: str, salt: bytes, params: Parameters) -> bytes:
    """argon2id of ``password``, every lane computed in the calling thread.

    libargon2 computes the p lanes in p threads of their own, which it starts afresh at each of the
    4 sync points of each pass: 48 thread starts per hash at t=3, p=4.  The pool already runs one
    hash per core, so on a server those threads buy nothing, and on a busy core their starts delay
    the requests beside them (the /api/me probe's p99 during a login storm: 1.94 ms with them, 0.67
    ms with p=1).  The hash is the same whatever the thread count; this is argon2-cffi's ``core``
    with a context of its own, as its documentation shows.  InvalidHashError for parameters that
    libargon2 refuses.
    """
    secret = password.encode()
    out = ffi.new("uint8_t[]", params.hash_len)
    cpwd, csalt = ffi.new("uint8_t[]", secret), ffi.new("uint8_t[]", salt)
    try:
        context = ffi.new("argon2_context *", {
            "version": params.version, "out": out, "outlen": params.hash_len, "pwd": cpwd, "pwdlen": len(secret),
            "salt": csalt, "saltlen": len(salt), "secret": ffi.NULL, "secretlen": 0, "ad": ffi.NULL, "adlen": 0,
            "t_cost": params.time_cost, "m_cost": params.memory_cost, "lanes": params.parallelism, "threads": 1,
            "allocate_cbk": ffi.NULL, "free_cbk": ffi.NULL, "flags": _lib.ARGON2_DEFAULT_FLAGS,
        })
    except OverflowError as exc:
        raise InvalidHashError("a parameter out of range") from exc
    if core(context, Type.ID.value) != _lib.ARGON2_OK:
        raise InvalidHashError("argon2id refused the parameters")
    return bytes(ffi.buffer(out, params.hash_len))


def _argon2id_in_this_thread(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``, an argon2id PHC string (see :func:`_argon2id`)."""
    params = extract_parameters(stored)
    if params.type is not Type.ID:
        raise InvalidHashError("not argon2id")
    salt_b64, digest_b64 = stored.rsplit("$", 2)[1:]
    try:
        salt, expected = _unb64(salt_b64), _unb64(digest_b64)
    except ValueError as exc:
        raise InvalidHashError("bad base64") from exc
    if len(expected) != params.hash_len:
        raise InvalidHashError("the hash's length does not match")
    return hmac.compare_digest(_argon2id(password, salt, params), expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _new_argon2id_in_this_thread(password: str, params: Parameters) -> str:
    """A new PHC string for ``password``, as argon2-cffi writes it, with a fresh random salt."""
    salt = os.urandom(params.salt_len)
    digest = _argon2id(password, salt, params)
    return (f"$argon2id$v={params.version}$m={params.memory_cost},t={params.time_cost},p={params.parallelism}"
            f"${_b64(salt)}${_b64(digest)}")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class PasswordHasher:
    """argon2id on a small thread pool: at most one hash per usable core, at a lower priority."""

    def __init__(self, policy: HashPolicy = HashPolicy(), *, threads: int | None = None) -> None:
        # argon2-cffi's own defaults for the salt and the hash: 16 and 32 bytes.
        self._params = Parameters(
            type=Type.ID, version=ARGON2_VERSION, salt_len=16, hash_len=32,
            time_cost=policy.time_cost, memory_cost=policy.memory_kib, parallelism=policy.parallelism,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=threads or usable_cores(), thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._dummy = self._hash(secrets.token_urlsafe(16))
        #: Hashes by outcome: ``computed`` by a thread, or ``dropped`` before one took them because
        #: the client had hung up.
        self.counts: Counter[str] = Counter()
        self._counting = threading.Lock()

    def _computed(self, fn: Callable[..., object], *args: object) -> object:
        with self._counting:
            self.counts["computed"] += 1
        return fn(*args)

    async def _run(self, fn: Callable[..., object], *args: object) -> object:
        job = self._pool.submit(self._computed, fn, *args)
        departure = client_departure.get()
        if departure is None:
            return await asyncio.wrap_future(job)
        work, gone = asyncio.wrap_future(job), asyncio.ensure_future(departure())
        try:
            await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            job.cancel()
            raise
        finally:
            gone.cancel()
        if work.done():
            return work.result()
        if job.cancel():  # no thread had taken it
            with self._counting:
                self.counts["dropped"] += 1
        raise ClientGone("the client hung up before its password was checked")

    async def hash(self, password: str) -> str:
        return str(await self._run(self._hash, password))

    def _hash(self, password: str) -> str:
        return _new_argon2id_in_this_thread(password, self._params)

    def _verify(self, stored: str | None, password: str) -> Verdict:
        try:
            ok = _argon2id_in_this_thread(stored or self._dummy, password)
        except InvalidHashError:  # what extract_parameters and _argon2id raise for a bad stored hash
            return Verdict(False)
        if stored is None or not ok:
            return Verdict(False)
        return Verdict(True, self._hash(password) if extract_parameters(stored) != self._params else None)

    async def verify(self, stored: str | None, password: str) -> Verdict:
        """Check ``password`` against ``stored``; ``None`` (no such user) does the same work and fails."""
        result = await self._run(self._verify, stored, password)
        assert isinstance(result, Verdict)
        return result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
