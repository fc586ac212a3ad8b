"""Revocation lag: three nodes on one store; a logout on node A, and how long B and C still accept it.

For each of the logouts, half of them cookie sessions (``DELETE /api/session``) and half token
logins (``POST /api/token/revoke``): log in on A, have B and C accept the credential once (so each
holds the login in its cache, which only the store's change notice can clear), log out on A,
then poll B and C back to back until both answer 401.  The lag is from A's 2xx answer to the
later of the two refusals; its resolution is one poll's round trip, which the figures include.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass

import httpx

from benchmarks import procs
from benchmarks.client import PASSWORD, USER_AGENT, cookie_pair
from benchmarks.context import Lab

USER = "revoker"
GIVE_UP = 3.0


class LagFailed(RuntimeError):
    """A node did not answer as the contract says (refused a live credential, or a logout failed)."""


@dataclass(frozen=True)
class Credential:
    headers: dict[str, str]
    logout: tuple[str, str, dict[str, str]]


async def _login(a: httpx.AsyncClient, kind: str) -> Credential:
    body = {"username": USER, "password": PASSWORD}
    if kind == "cookie":
        answer = await a.post("/api/session", json=body)
        answer.raise_for_status()
        name, value = cookie_pair(answer.headers["set-cookie"])
        a.cookies.clear()
        headers = {"Cookie": f"{name}={value}"}
        return Credential(headers, ("DELETE", "/api/session", {**headers, "X-CSRF-Token": answer.json()["csrf_token"]}))
    answer = await a.post("/api/token", json=body)
    answer.raise_for_status()
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return Credential(headers, ("POST", "/api/token/revoke", headers))


async def _refused_after(node: httpx.AsyncClient, headers: dict[str, str], since: float) -> float:
    while True:
        status = (await node.get("/api/me", headers=headers)).status_code
        now = time.perf_counter()
        if status == 401:
            return now - since
        if status != 200:
            raise LagFailed(f"a node answered {status} while the revocation travelled")
        if now - since > GIVE_UP:
            return math.inf


async def _one(a: httpx.AsyncClient, others: list[httpx.AsyncClient], kind: str) -> tuple[float, bool]:
    credential = await _login(a, kind)
    for node in others:
        if (await node.get("/api/me", headers=credential.headers)).status_code != 200:
            raise LagFailed("a node refused a live credential")
    method, path, headers = credential.logout
    answer = await a.request(method, path, headers=headers)
    answered = time.perf_counter()
    if answer.status_code != 204:
        raise LagFailed(f"the logout answered {answer.status_code}")
    lags = await asyncio.gather(*(_refused_after(node, credential.headers, answered) for node in others))
    a_refuses = (await a.get("/api/me", headers=credential.headers)).status_code == 401
    return max(lags), a_refuses


async def measure(urls: list[str], count: int) -> dict[str, object]:
    clients = [httpx.AsyncClient(base_url=url, timeout=10.0, headers={"User-Agent": USER_AGENT}) for url in urls]
    try:
        answer = await clients[0].post("/api/users", json={"username": USER, "password": PASSWORD})
        if answer.status_code not in (201, 409):
            raise LagFailed(f"registering answered {answer.status_code}")
        lags, a_at_once = [], 0
        for i in range(count):
            lag, refused = await _one(clients[0], clients[1:], "cookie" if i % 2 == 0 else "token")
            lags.append(lag)
            a_at_once += refused
    finally:
        for client in clients:
            await client.aclose()
    by_kind = {"cookie": summarise(lags[0::2]), "token": summarise(lags[1::2])} if count > 1 else {}
    return summarise(lags) | {"logouts": count, "node_a_refused_at_once": a_at_once, "by_kind": by_kind}


def summarise(lags: list[float]) -> dict[str, object]:
    ordered = sorted(lags)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    finite = [x for x in ordered if math.isfinite(x)]
    return {"p50_ms": pct(50), "p99_ms": pct(99), "max_ms": ordered[-1] * 1000,
            "mean_ms": statistics.fmean(finite) * 1000 if finite else math.inf,
            "gave_up": len(ordered) - len(finite)}


def revocation_lag(lab: Lab) -> None:
    data_dir = lab.dir("revocation")
    if lab.redis is not None and not lab.redis_problem:
        lab.redis.call("FLUSHALL", timeout=120.0)  # a million seeded logins take a while
        store, where = lab.redis.url, "one private redis-server"
    else:
        store, where = f"sqlite:///{data_dir / 'state.db'}", "one shared SQLite store file"
        lab.note(f"revocation lag measured on the shared SQLite store: the Redis store is unavailable "
                 f"({lab.redis_problem})")
    nodes = [procs.passgate(f"node-{name}", data_dir, "--store", store, log_dir=lab.logs, cores=None)
             for name in "abc"]
    try:
        for node in nodes:
            node.start()
        found = asyncio.run(measure([node.url for node in nodes], lab.plan.revocations))
    finally:
        for node in nodes:
            node.stop()
    lab.results.figures["revocation"] = {**found, "store": where, "nodes": 3}
    print(f"  revocation lag over {found['logouts']} logouts: p50 {found['p50_ms']:.2f} ms, "
          f"p99 {found['p99_ms']:.2f} ms ({where})", flush=True)
