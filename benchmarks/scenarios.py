"""The ``GET /api/me`` scenarios: the ceiling, each store and algorithm, many logins, and the peer.

Each scenario starts its own ``passgate serve`` (one worker, pinned to core 0), logs in over HTTP
once, and lets wrk repeat one authenticated request on core 1.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import peer, procs, seed, sizes, wrk
from benchmarks.client import CookieLogin, FastapiUsers, Passgate, SetupFailed, Tokens
from benchmarks.context import Lab, describe
from benchmarks.machine import event_loop_and_parser
from benchmarks.wrk import Measurement
from passgate.root import open_store
from tests.dpop import Key

ME = "/api/me"
USER = "bench"
STORES = {"sqlite": "SQLite", "redis": "Redis"}


def cookie_headers(login: CookieLogin) -> dict[str, str]:
    return {"Cookie": login.header}


def bearer_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def measure_me(lab: Lab, server: procs.Server, api: Passgate | FastapiUsers, entry_id: str, label: str,
               headers: dict[str, str], path: str = ME, judged: bool = False, repeats: int | None = None) -> None:
    """One authenticated request repeated; ``judged``: in runs alternating with the server's ceiling,
    which is recorded as ``ceiling~<entry_id>`` and is what the entry's share of the ceiling divides by."""
    load = lab.plan.load if repeats is None else replace(lab.plan.load, repeats=repeats)
    paired: list[Measurement] = []

    def run() -> Measurement:
        status = api.me(headers)
        if status != 200:
            raise SetupFailed(f"{path} answered {status} to the credential before the run")
        if not judged:
            return wrk.measure(server.url + path, load=load, server_pid=server.pid, headers=headers)
        mine, ceiling = wrk.measure_paired(server.url + path, server.url + "/healthz", load=load,
                                           server_pid=server.pid, headers=headers)
        paired.append(ceiling)
        return mine

    entry = lab.record(entry_id, label, run)
    if paired:
        entry.ceiling = lab.record(f"ceiling~{entry_id}", f"GET /healthz, alternating with {label}",
                                   lambda: paired[0]).id


def measure_ceiling(lab: Lab, server: procs.Server, entry_id: str, label: str) -> str:
    """``GET /healthz`` on its own (the headline ceiling); the entry's id."""
    lab.record(entry_id, label, lambda: wrk.measure(server.url + "/healthz", load=lab.plan.load,
                                                      server_pid=server.pid))
    return entry_id


def _login(api: Passgate) -> tuple[CookieLogin, Tokens]:
    api.register(USER)
    return api.cookie_login(USER), api.token_login(USER)


# -- the ceiling, the memory store and the three signing algorithms --------------------------------


def ceiling_and_memory(lab: Lab) -> None:
    with procs.passgate("memory", lab.dir("memory"), "--store", "memory://", log_dir=lab.logs) as server, \
            Passgate(server.url) as api:
        measure_ceiling(lab, server, "ceiling", "ceiling: GET /healthz")
        cookie, tokens = _login(api)
        measure_me(lab, server, api, "me.cookie.memory", "GET /api/me, cookie, memory store", cookie_headers(cookie),
                   judged=True)
        measure_me(lab, server, api, "me.bearer.EdDSA", "GET /api/me, bearer EdDSA",
                   bearer_headers(tokens.access_token), judged=True)
        _token_size(lab, "EdDSA", tokens.access_token)
        measure_dpop(lab, server, api, "me.dpop.ES256", "GET /api/me, DPoP-bound EdDSA token, ES256 proofs")
    lab.results.figures["memory_store_bytes_per_login"] = round(sizes.memory_store_bytes_per_login(), 1)


#: More proofs than the fastest DPoP run could use per second: each request spends one.
PROOFS_PER_SECOND = 8000


def measure_dpop(lab: Lab, server: procs.Server, api: Passgate, entry_id: str, label: str) -> None:
    """``GET /api/me`` with a DPoP-bound token and a fresh proof by its key each time (made beforehand,
    one a request: the server checks every proof's signature and spends its jti), alternating with
    the server's ceiling like the bearer scenarios."""
    key, me = Key(), server.url + ME
    token = api.dpop_login(USER, key.proof("POST", server.url + "/api/token")).access_token
    headers = {"Authorization": f"DPoP {token}", "Host": urlsplit(server.url).netloc}
    proofs = lab.dir("dpop") / f"{entry_id}.proofs"
    paired: list[Measurement] = []

    def fresh_proofs(seconds: int) -> dict[str, str]:
        # Made just before each wrk run (a proof is fresh for 60 s), enough for it: each request spends one.
        count = (seconds + 1) * PROOFS_PER_SECOND
        proofs.write_text("".join(key.proof("GET", me, token=token) + "\n" for _ in range(count)))
        return {"BENCH_PROOFS": str(proofs)}

    def run() -> Measurement:
        if api.me({**headers, "DPoP": key.proof("GET", me, token=token)}) != 200:
            raise SetupFailed(f"{ME} refused a DPoP-bound token with its proof before the run")
        mine, ceiling = wrk.measure_paired(me, server.url + "/healthz", load=lab.plan.load, server_pid=server.pid,
                                           headers=headers, script="dpop.lua", env=fresh_proofs)
        paired.append(ceiling)
        return mine

    entry = lab.record(entry_id, label, run)
    if paired:
        entry.ceiling = lab.record(f"ceiling~{entry_id}", f"GET /healthz, alternating with {label}",
                                   lambda: paired[0]).id


def _token_size(lab: Lab, alg: str, token: str) -> None:
    lab.results.figures.setdefault("token_bytes", {})[alg] = {
        "total": sizes.token_bytes(token), **sizes.token_parts(token)}


def algorithms(lab: Lab) -> None:
    for alg in ("ES256", "HS256"):
        with procs.passgate(f"alg-{alg}", lab.dir(f"alg-{alg}"), "--store", "memory://", "--jwt-alg", alg,
                            log_dir=lab.logs) as server, Passgate(server.url) as api:
            _, tokens = _login(api)
            measure_me(lab, server, api, f"me.bearer.{alg}", f"GET /api/me, bearer {alg}",
                       bearer_headers(tokens.access_token), judged=True)
            _token_size(lab, alg, tokens.access_token)


# -- SQLite and Redis, with 1,000 to 1,000,000 logins ------------------------------------------------


def check_redis_store(lab: Lab) -> None:
    """Whether passgate's Redis store works here; if not, the Redis scenarios say why."""
    if lab.redis is None:
        lab.redis_problem = "no redis-server"
        return

    async def roundtrip() -> None:
        store = open_store(lab.redis.url)  # type: ignore[union-attr]
        try:
            await store.set("pg:bench:probe", b"ok", 5)
            if await store.get("pg:bench:probe") != b"ok":
                raise RuntimeError("the Redis store did not read back what it wrote")
            await store.delete("pg:bench:probe")
        finally:
            await store.aclose()

    try:
        asyncio.run(roundtrip())
        lab.redis_problem = None
    except Exception as exc:
        lab.redis_problem = f"passgate's Redis store is not working yet ({describe(exc)})"
        lab.note(f"Redis store scenarios unavailable: {lab.redis_problem}")


def _store_args(lab: Lab, store: str) -> tuple[str, ...]:
    if store == "sqlite":
        return ("--store", f"sqlite:///{lab.dir('sqlite-node') / 'state.db'}")
    assert lab.redis is not None
    return ("--store", lab.redis.url)


def _seeded_cookie_works(api: Passgate, cookie: CookieLogin, sample: list[seed.Seeded]) -> None:
    seeded = next((s for s in sample if s.login.kind == "cookie"), None)
    if seeded is not None and api.me({"Cookie": f"{cookie.name}={seeded.cookie}"}) != 200:
        raise SetupFailed("a seeded session cookie is refused: the seeded records are not real logins")


def store_at(lab: Lab, store: str, count: int, sample: list[seed.Seeded]) -> None:
    name = STORES[store]
    with procs.passgate(f"{store}-{count}", lab.dir(f"{store}-node"), *_store_args(lab, store),
                        log_dir=lab.logs) as server, Passgate(server.url) as api:
        baseline = count == lab.plan.login_counts[0]
        cookie, tokens = _login(api)
        _seeded_cookie_works(api, cookie, sample)
        repeats = lab.plan.scale_repeats
        measure_me(lab, server, api, f"me.cookie.{store}@{count}", f"GET /api/me, cookie, {name} store, "
                   f"{count:,} logins", cookie_headers(cookie), judged=True, repeats=repeats)
        measure_me(lab, server, api, f"me.bearer.{store}@{count}", f"GET /api/me, bearer EdDSA, {name} store, "
                   f"{count:,} logins", bearer_headers(tokens.access_token), judged=True, repeats=repeats)
        if baseline:
            _record_sizes(lab, store, cookie, tokens)


def _record_sizes(lab: Lab, store: str, cookie: CookieLogin, tokens: Tokens) -> None:
    records = lab.results.figures.setdefault("record_bytes", {})
    if store == "sqlite":
        path = lab.dir("sqlite-node") / "state.db"
        records["sqlite"] = {"cookie": sizes.sqlite_record(path, *cookie.ids),
                             "token": sizes.sqlite_record(path, *tokens.ids)}
    else:
        assert lab.redis is not None
        records["redis"] = {"cookie": sizes.redis_record(lab.redis.url, *cookie.ids),
                            "token": sizes.redis_record(lab.redis.url, *tokens.ids)}


def _affordable(lab: Lab, count: int, have: int, seconds_per_login: float | None, spent: float) -> int:
    """``count``, or the largest round count that still fits the seeding budget."""
    if seconds_per_login is None:
        return count
    left = lab.plan.seed_budget - spent
    if (count - have) * seconds_per_login <= left:
        return count
    step = 100_000 if count >= 200_000 else 1_000
    fits = have + int(left / seconds_per_login / step) * step
    lab.note(f"{count:,} logins would take about {(count - have) * seconds_per_login:.0f} s more to create, "
             f"over the seeding budget ({lab.plan.seed_budget:.0f} s): measured at {fits:,} instead")
    return fits


def stores_and_scale(lab: Lab) -> None:
    sqlite_target = seed.SqliteTarget(lab.dir("sqlite-node") / "state.db")
    redis_target = seed.RedisTarget(lab.redis.url) if lab.redis is not None and not lab.redis_problem else None
    targets = [t for t in (sqlite_target, redis_target) if t is not None]
    have, spent, per_login = 0, 0.0, None
    seeding = lab.results.figures.setdefault("seeding", [])
    reads = lab.results.figures.setdefault("store_read_us", {})
    everything: list[seed.Seeded] = []
    for wanted in lab.plan.login_counts:
        count = _affordable(lab, wanted, have, per_login, spent)
        if count <= have:
            break
        memory_before, disk_before = redis_target.used_memory() if redis_target else 0, sqlite_target.size()
        started = time.perf_counter()
        sample = seed.seed(targets, count - have)
        took = time.perf_counter() - started
        everything += sample
        for target in targets:
            store = "sqlite" if target is sqlite_target else "redis"
            reads.setdefault(store, {})[str(count)] = round(seed.read_seconds(target.url, everything) * 1e6, 1)
        spent, per_login = spent + took, took / (count - have)
        memory_added = redis_target.used_memory() - memory_before if redis_target else None
        seeding.append({"count": count, "added": count - have, "seconds": round(took, 1),
                        "sqlite_bytes_added": sqlite_target.size() - disk_before,
                        "redis_used_memory_added": memory_added})
        have = count
        print(f"  {count:,} logins exist (added {seeding[-1]['added']:,} in {took:.1f} s)", flush=True)
        for store in STORES:
            if store == "redis" and lab.redis_problem:
                for kind in ("cookie", "bearer"):
                    lab.skip(f"me.{kind}.redis@{count}", f"GET /api/me, {kind}, Redis store, {count:,} logins",
                             f"unavailable: {lab.redis_problem}")
                continue
            store_at(lab, store, count, sample)
    if redis_target is not None:
        redis_target.close()


# -- the peer: fastapi-users -------------------------------------------------------------------------


def compare_peer(lab: Lab) -> None:
    loop, http = event_loop_and_parser()
    from uvicorn import __version__ as uvicorn_version

    try:
        lab.results.context.setdefault("versions", {})["peer"] = peer.ensure_venv(
            uvicorn_version=uvicorn_version, loop=loop, http=http)
    except peer.PeerUnavailable as exc:
        for entry_id in ("peer.ceiling", "peer.jwt", "peer.redis"):
            lab.skip(entry_id, entry_id, f"unavailable: {describe(exc)}")
        return
    for backend in ("jwt", "redis"):
        if backend == "redis" and lab.redis is None:
            lab.skip("peer.redis", "fastapi-users: GET /users/me, Redis/cookie", "unavailable: no redis-server")
            continue
        _peer_backend(lab, backend, loop, http)


def _peer_backend(lab: Lab, backend: str, loop: str, http: str) -> None:
    assert lab.redis is not None or backend == "jwt"
    redis_url = lab.redis.url if lab.redis is not None else "redis://127.0.0.1:1/0"
    data_dir: Path = lab.dir(f"peer-{backend}")
    with peer.server(backend, data_dir=data_dir, redis_url=redis_url, log_dir=lab.logs, loop=loop,
                     http=http) as server:
        api = FastapiUsers(server.url)
        try:
            api.register("bench@example.com")
            if backend == "jwt":
                lab.record("peer.ceiling", "fastapi-users app: GET /healthz", lambda: wrk.measure(
                    server.url + "/healthz", load=lab.plan.load, server_pid=server.pid))
                headers = bearer_headers(api.bearer("bench@example.com"))
                label = "fastapi-users: GET /users/me, JWT/bearer (HS256)"
            else:
                headers = {"Cookie": api.cookie("bench@example.com")}
                label = "fastapi-users: GET /users/me, Redis/cookie"
            measure_me(lab, server, api, f"peer.{backend}", label, headers, path="/users/me")
        finally:
            api.close()
