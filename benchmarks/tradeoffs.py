"""The seed's comparison of sessions and tokens, measured: what a bigger token costs every request,
what each mode asks of the store, and what each mode still does while the store is away.

The figures go into ``results.json`` under ``figures["tradeoffs"]``; ``benchmarks/comparison.py``
writes ``docs/sessions-vs-tokens.md`` from them (with the sizes and the revocation lag that the
other phases measure).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

from benchmarks import procs
from benchmarks.client import PASSWORD, USER_AGENT, Passgate
from benchmarks.context import Lab
from benchmarks.library import Running, alternate

USER = "trader"
#: Extra claims a lab-only issuer adds to a token (bytes of one string claim, before base64url).
#: 4 KB pushes a token past the 4,096 bytes passgate accepts: measured as refused, with its size.
EXTRA_CLAIMS = (0, 1024, 2048, 4096)
TOKENS = 16


def _cli(data_dir: Path, store: str, *args: str) -> str:
    command = [sys.executable, "-m", "passgate.cli", *args, "--data-dir", str(data_dir), "--store", store]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def signing_key(data_dir: Path, store: str) -> tuple[str, dict[str, Any]]:
    """The current signing key's kid and private JWK, as ``passgate keys export`` hands them out."""
    keys = [json.loads(line) for line in _cli(data_dir, store, "keys", "list").splitlines() if line.strip()]
    kid = next(k["kid"] for k in keys if k["status"] == "current")
    return kid, json.loads(_cli(data_dir, store, "keys", "export", kid))


def padded(token: str, extra: int, kid: str, jwk: dict[str, Any]) -> str:
    """A lab-only issuer: ``token``'s own claims plus one ``x`` claim of ``extra`` bytes, signed by the
    deployment's key (exported as a resource server would).  passgate never issues such a token."""
    if not extra:
        return token
    claims = jwt.decode(token, options={"verify_signature": False})
    key = jwt.PyJWK(jwk)
    return jwt.encode({**claims, "x": "x" * extra}, key, algorithm=jwk.get("alg", "EdDSA"),
                      headers={"kid": kid, "typ": "at+jwt"})


def request_bytes(url: str, path: str, header: str) -> int:
    """Bytes of the request head wrk sends: request line, Host, the credential, the blank line."""
    host = url.removeprefix("http://")
    return len(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{header}\r\n\r\n".encode())


def _status(url: str, header: str) -> int:
    name, _, value = header.partition(": ")
    return httpx.get(url + "/api/me", headers={name: value, "User-Agent": USER_AGENT}, timeout=30.0).status_code


def token_sizes(lab: Lab) -> None:
    """``GET /api/me`` with a cookie, the default token and tokens with 1 KB and 4 KB of extra claims,
    in alternating rounds on one server (memory store): req/s and bytes on the wire."""
    data_dir, store = lab.dir("tokens-node"), "memory://"
    with procs.passgate("tokens", data_dir, "--store", store, log_dir=lab.logs) as server, \
            Passgate(server.url) as api:
        api.register(USER)
        tokens = [api.token_login(USER).access_token for _ in range(TOKENS)]
        cookies = [f"Cookie: {api.cookie_login(USER).header}" for _ in range(8)]
        kid, jwk = signing_key(data_dir, store)  # the keys live in the database, which the CLI shares
        sets = {"cookie": cookies}
        for extra in EXTRA_CLAIMS:
            sets[f"bearer+{extra}"] = [f"Authorization: Bearer {padded(t, extra, kid, jwk)}" for t in tokens]
        found = _size_rows(lab, server, sets)
    lab.results.figures.setdefault("tradeoffs", {})["token_size"] = found


def _size_rows(lab: Lab, server: procs.Server, sets: dict[str, list[str]]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    ready = []
    for name, lines in sets.items():
        status = _status(server.url, lines[0])
        first = lines[0].partition(": ")[2]
        rows[name] = {"status": status, "credential_bytes": len(first.removeprefix("Bearer ")),
                      "request_bytes": request_bytes(server.url, "/api/me", lines[0])}
        if status != 200:
            continue  # refused (passgate caps a token at 4,096 bytes): nothing to time
        headers = lab.dir("tradeoff-headers") / f"{name}.txt"
        headers.write_text("\n".join(lines) + "\n")
        ready.append(Running(_case(name), server.url + "/api/me", headers, server.pid, []))
    rounds = 2 if lab.plan.load.duration <= 1 else 6
    alternate(ready, lab.plan.load, rounds)
    for one in ready:
        entry = lab.record(f"tradeoff.{one.case.id}", one.case.label, one.measurement)
        rows[one.case.id]["entry"] = entry.id
    return rows


def _case(name: str) -> Any:
    from benchmarks.library import Case

    label = "GET /api/me, session cookie" if name == "cookie" else \
        f"GET /api/me, bearer token with {int(name.split('+')[1]):,} bytes of extra claims"
    return Case(name, label, "tokens", "/api/me")


# -- store operations per request -------------------------------------------------------------------


def _commandstats(client: Any) -> dict[str, int]:
    info: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in info.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0
            and k not in ("info", "config|resetstat")}


def store_operations(lab: Lab) -> None:
    """Redis commands per action and per mode, counted by Redis itself (INFO commandstats deltas)."""
    if lab.redis is None or lab.redis_problem:
        lab.note(f"store operations not counted: {lab.redis_problem or 'no redis-server'}")
        return
    import redis

    url = lab.redis.url.rsplit("/", 1)[0] + "/4"
    client = redis.Redis.from_url(url, socket_timeout=10.0)
    count = 20 if lab.plan.load.duration <= 1 else 200
    data_dir = lab.dir("ops-node")
    with procs.passgate("ops-a", data_dir, "--store", url, log_dir=lab.logs) as server, \
            procs.passgate("ops-b", data_dir, "--store", url, log_dir=lab.logs, cores="1") as other, \
            httpx.Client(base_url=server.url, timeout=30.0, headers={"User-Agent": USER_AGENT}) as http, \
            httpx.Client(base_url=other.url, timeout=30.0, headers={"User-Agent": USER_AGENT}) as second:
        body = {"username": USER, "password": PASSWORD}
        http.post("/api/users", json=body)
        found = _count_actions(client, http, second, body, count)
    client.close()
    lab.results.figures.setdefault("tradeoffs", {})["store_operations"] = {"per": found, "requests": count}


class _Counter:
    """Redis's own count of each command an action sent, per action (``times`` repeats: per request)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.found: dict[str, dict[str, float]] = {}

    def __call__(self, name: str, times: int, act: Callable[[], httpx.Response]) -> httpx.Response:
        before = _commandstats(self.client)
        answer = act()
        for _ in range(times - 1):
            answer = act()
        if answer.status_code >= 300:
            raise RuntimeError(f"{name}: answered {answer.status_code} {answer.text[:200]}")
        after = _commandstats(self.client)
        self.found[name] = {k: round(v / times, 2) for k, v in sorted(_delta(before, after).items())}
        return answer


def _count_actions(client: Any, http: httpx.Client, second: httpx.Client, body: dict[str, str],
                   count: int) -> dict[str, Any]:
    """Each action's Redis commands (a request repeated ``count`` times: per request, rounded to 0.01);
    ``second`` is another node on the same store, which has not seen the logins (scale-out)."""
    counted = _Counter(client)
    session = counted("cookie login (POST /api/session)", 1, lambda: http.post("/api/session", json=body))
    cookie = {"Cookie": session.headers["set-cookie"].split(";")[0]}
    http.cookies.clear()
    pair = counted("token login (POST /api/token)", 1, lambda: http.post("/api/token", json=body)).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    for kind, headers in (("cookie", cookie), ("bearer", bearer)):
        counted(f"GET /api/me, {kind}", count, lambda h=headers: http.get("/api/me", headers=h))  # type: ignore[misc]
        counted(f"GET /api/me, {kind}, first on another node", 1,
                lambda h=headers: second.get("/api/me", headers=h))  # type: ignore[misc]
        counted(f"GET /api/me, {kind}, on another node after that", count,
                lambda h=headers: second.get("/api/me", headers=h))  # type: ignore[misc]
    fresh = counted("refresh (POST /api/token/refresh)", 1,
                    lambda: http.post("/api/token/refresh", json={"refresh_token": pair["refresh_token"]})).json()
    csrf = {**cookie, "X-CSRF-Token": session.json()["csrf_token"]}
    counted("cookie logout (DELETE /api/session)", 1, lambda: http.delete("/api/session", headers=csrf))
    counted("token revoke (POST /api/token/revoke)", 1, lambda: http.post(
        "/api/token/revoke", headers={"Authorization": f"Bearer {fresh['access_token']}"}))
    return counted.found


# -- the store outage ---------------------------------------------------------------------------------


def outage(lab: Lab) -> None:
    """What each mode does while its Redis is frozen (SIGSTOP: connections hang, as when a host goes
    away), under ``--outage grace`` and ``--outage closed``, and how soon it serves again after SIGCONT."""
    from tests.servers import RedisServer

    redis_server = RedisServer().start()
    try:
        found = {mode: _outage_mode(lab, redis_server, mode) for mode in ("grace", "closed")}
    finally:
        if redis_server.pid is not None:
            os.kill(redis_server.pid, signal.SIGCONT)
        redis_server.close()
    lab.results.figures.setdefault("tradeoffs", {})["outage"] = found


def _outage_mode(lab: Lab, redis_server: Any, mode: str) -> dict[str, Any]:
    with procs.passgate(f"outage-{mode}", lab.dir(f"outage-{mode}"), "--store", redis_server.url, "--outage", mode,
                        log_dir=lab.logs, cores=None) as server, Passgate(server.url) as api:
        api.register(USER)
        cookie = {"Cookie": api.cookie_login(USER).header}
        token = {"Authorization": f"Bearer {api.token_login(USER).access_token}"}
        checks = {"GET /api/me, cookie": ("GET", "/api/me", cookie, None),
                  "GET /api/me, bearer": ("GET", "/api/me", token, None),
                  "POST /api/session (log in)": ("POST", "/api/session", {}, {"username": USER,
                                                                              "password": PASSWORD})}
        for method, path, headers, body in checks.values():
            api.http.request(method, path, headers=headers, json=body)  # warm: the login is in the caches
        api.http.cookies.clear()
        assert redis_server.pid is not None
        os.kill(redis_server.pid, signal.SIGSTOP)
        try:
            time.sleep(1.5)  # past the entries a node may trust without its feed
            during = {name: _timed(api.http, *check) for name, check in checks.items()}
        finally:
            os.kill(redis_server.pid, signal.SIGCONT)
        back = time.monotonic()
        recovered = _recovery(api.http, cookie, back)
    return {"during": during, "cookie_recovered_s": recovered}


def _timed(http: httpx.Client, method: str, path: str, headers: dict[str, str],
           body: dict[str, str] | None) -> dict[str, Any]:
    started = time.monotonic()
    answer = http.request(method, path, headers=headers, json=body)
    http.cookies.clear()
    code = answer.json().get("code") if answer.status_code >= 400 else None
    return {"status": answer.status_code, "code": code, "seconds": round(time.monotonic() - started, 3)}


def _recovery(http: httpx.Client, cookie: dict[str, str], since: float) -> float | None:
    while time.monotonic() - since < 15.0:
        if http.get("/api/me", headers=cookie).status_code == 200:
            return round(time.monotonic() - since, 3)
        time.sleep(0.05)
    return None


def node_memory(lab: Lab) -> None:
    """What a node keeps per token it has verified (its cache entry), measured with tracemalloc."""
    from benchmarks import sizes

    lab.results.figures.setdefault("tradeoffs", {})["token_cache_bytes"] = round(sizes.token_cache_bytes_per_entry())


def tradeoffs(lab: Lab) -> None:
    for part in (node_memory, token_sizes, store_operations, outage):
        try:
            part(lab)
        except Exception as exc:  # one part failing leaves the others' figures
            from benchmarks.context import describe

            lab.note(f"sessions vs tokens, {part.__name__}: failed ({describe(exc)})")
