"""Sizes: of an access token, of a login record in each store, of 100,000 logins in Redis."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import time
import tracemalloc
from pathlib import Path
from typing import Any

import redis

from benchmarks.seed import generate
from passgate.credentials.logins import index_key, login_key
from passgate.stores import MemoryStore


def token_bytes(token: str) -> int:
    return len(token.encode())


def token_parts(token: str) -> dict[str, int]:
    """Bytes of each base64url segment of a JWS compact token (header, claims, signature)."""
    header, claims, signature = token.split(".")
    return {"header": len(header), "claims": len(claims), "signature": len(signature)}


async def _fill(store: MemoryStore, count: int) -> None:
    for chunk in generate(count):
        for s in chunk:
            await store.set(login_key(s.user_id, s.login.id), s.raw, s.ttl)
            await store.add_member(index_key(s.user_id), s.login.id, s.index_ttl)


async def _fill_memory_store(count: int) -> float:
    store = MemoryStore()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await _fill(store, count)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    await store.aclose()
    return (after - before) / count


def memory_store_bytes_per_login(count: int = 20_000) -> float:
    """Python heap that ``MemoryStore`` holds per login: key, record, expiry and the index entry."""
    return asyncio.run(_fill_memory_store(count))


def sqlite_record(path: Path, user_id: str, login_id: str) -> dict[str, int]:
    """The login's row in the SQLite store: key and value bytes."""
    conn = sqlite3.connect(path, timeout=10.0)
    try:
        row = conn.execute("SELECT length(key), length(value) FROM kv WHERE key=?",
                           (login_key(user_id, login_id),)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise LookupError("the login is not in the SQLite store")
    return {"key": int(row[0]), "value": int(row[1])}


def redis_record(url: str, user_id: str, login_id: str) -> dict[str, Any]:
    """``MEMORY USAGE`` of the login's key, and its value's length."""
    client = redis.Redis.from_url(url, socket_timeout=10.0)
    try:
        key = login_key(user_id, login_id)
        usage = client.memory_usage(key, samples=0)
        value = client.strlen(key)
        index = client.memory_usage(index_key(user_id), samples=0)
    finally:
        client.close()
    if usage is None:
        raise LookupError("the login is not in Redis")
    return {"memory_usage": int(usage), "value": int(value), "index_memory_usage": int(index or 0)}


def token_cache_bytes_per_entry(count: int = 20_000) -> float:
    """Python heap a node's verified-token cache holds per token (its digest, claims and login index):
    the only per-token state passgate keeps, in each node's memory, and only for tokens it has seen."""
    from passgate.credentials.tokens import AccessClaims, VerifiedTokenCache

    cache = VerifiedTokenCache(max_entries=count)
    exp = int(time.time()) + 600
    tokens = [f"eyJ.{n:040d}.sig" for n in range(count)]  # the token itself is not kept: its digest is
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n, token in enumerate(tokens):
            cache.put(token, AccessClaims(sub=f"{n // 4:022d}", sid=f"{n:022d}", jti=f"{n:016d}", iat=exp - 600,
                                          exp=exp))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / count
