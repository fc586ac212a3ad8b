"""How ``passgate serve`` runs an app: uvicorn on uvloop with httptools' C parser, request heads bounded,
and the allocator told to keep argon2id's memory from one hash to the next.

httptools parses a request head in C, where h11's pure-Python parser spends 8-12 µs on a bearer
token's header alone: on an authenticated request that is most of passgate's own cost.  Unlike
h11, httptools sets no limit on a head, so :class:`BoundedHttpToolsProtocol` counts the bytes of
each head as they arrive and answers 400 past :data:`MAX_HEAD`, before they pile up in memory.
What the parser refuses is answered in problem+json, like every other error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from passgate.web.problems import PROBLEM, problem

# glibc's mallopt(3) parameters.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8

#: Room for a hostile 100 KB token to reach passgate and be refused as a 401, not cut off by the server.
MAX_HEAD = 256 * 1024


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on each request's head (request line and headers)."""

    limit = MAX_HEAD

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes: int | None = 0  # bytes of the current head so far; None while a body streams

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
            if self._head_bytes > self.limit:
                self.logger.warning("Request head over %d bytes refused.", self.limit)
                self.send_400_response("Request header fields too large.")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_bytes = 0
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refuses, in problem+json; the connection closes."""
        body = problem(400, "validation_failed", "Bad request", msg).body
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [b"content-type: " + PROBLEM.encode() + b"\r\n", b"content-length: %d\r\n" % len(body),
                 b"connection: close\r\n\r\n"]  # fmt: skip
        self.transport.write(b"".join(head) + bytes(body))
        self.transport.close()


def run(app: Any, *, host: str, port: int) -> None:
    """Serve ``app`` on one process until interrupted (what ``passgate serve`` does)."""
    uvicorn.run(app, host=host, port=port, http=BoundedHttpToolsProtocol, loop="auto", log_level="info",
                access_log=False, proxy_headers=False, server_header=False, lifespan="on")


def keep_hash_memory(block_bytes: int, blocks: int) -> bool:
    """Let glibc's malloc reuse argon2id's memory block from one hash to the next; False if it cannot.

    A block this large (64 MiB by default) is served by mmap and handed back by munmap, so every
    hash faults its memory in afresh: 16,384 page faults, 15-20% of a login's CPU here.  This keeps
    blocks of that size on the heap (one arena: a hashing thread's own arena could not hold one) and
    up to ``blocks`` of them when freed, one per hashing thread.  It is process-wide, so only
    ``passgate serve``, which owns its process, calls it, before any thread starts.
    """
    path = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(path).mallopt if path else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False  # not glibc (musl, macOS): the defaults stay
    room = (blocks + 1) * block_bytes
    return all(mallopt(option, value) == 1 for option, value in (
        (_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, block_bytes + (1 << 20)), (_M_TRIM_THRESHOLD, room),
    ))
