"""The library phase: passgate inside the user's own app, as the README's ``app.py`` meets it.

Each app runs as ``uvicorn MODULE:app --loop uvloop --http httptools`` (one worker, no access
log), every one pinned to core 0 and wrk to core 1.  The apps: the user's FastAPI app without
passgate (``/plain``, and ``/dep`` behind a no-op async dependency), the README's ``app.py`` on the
SQLite, memory and Redis stores (its ``/hello`` behind ``Depends(auth.current_user)``, plus
``/plain`` and ``/maybe`` behind ``optional_user``), and the Starlette example with and without
``PassgateMiddleware`` + ``requires_user``.  Bearer rows cycle 16 access tokens and cookie rows 8
session cookies (``lua/cycle.lua``); the baseline of each row gets the same headers.

All the cases run in rounds, one short wrk run each, the order reversed every other round, so a
row and its baseline are always measured seconds apart: a row's share is the median of its
per-round ratios, shown with their spread.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import procs, wrk
from benchmarks.client import Passgate, SetupFailed
from benchmarks.context import Lab
from benchmarks.machine import event_loop_and_parser
from benchmarks.wrk import Load, Measurement
from tests.nodes import free_port

HERE = Path(__file__).parent
USERAPPS = HERE / "userapps"
ROOT = HERE.parent
USER = "ada"
BEARERS, COOKIES = 16, 8
#: Rounds of the alternation (each case once per round).
ROUNDS, SMOKE_ROUNDS = 5, 2


@dataclass(frozen=True)
class App:
    """One app process: what uvicorn serves and from where."""

    name: str
    target: str
    #: The file saved as ``app.py`` in the app's working directory (None: none).
    app_py: str | None = None
    store: str | None = None
    passgate: bool = True


@dataclass(frozen=True)
class Case:
    """One row: a route of one app, with a credential kind, and the row whose share it is judged by."""

    id: str
    label: str
    app: str
    path: str
    #: ``""`` (none), ``"bearer"`` or ``"cookie"``: the headers cycled.
    credential: str = ""
    baseline: str | None = None
    target: float | None = None


def readme_app() -> str:
    """The README's first ``python`` block: the contract's ``app.py``."""
    from tests.library.apps import readme_example

    return readme_example()


def apps() -> list[App]:
    starlette = (ROOT / "examples" / "starlette_app.py").read_text()
    return [
        App("fastapi", "fastapi_without:app", passgate=False),
        App("sqlite", "fastapi_with:app", readme_app()),
        App("memory", "fastapi_with:app", readme_app(), store="memory://"),
        App("redis", "fastapi_with:app", readme_app(), store="redis"),
        App("starlette", "starlette_without:app", passgate=False),
        App("starlette+passgate", "app:app", starlette),
    ]


STORE_LABEL = {"sqlite": "SQLite", "memory": "memory", "redis": "Redis"}


def cases() -> list[Case]:
    rows = [
        Case("lib.plain", "GET /plain, app without passgate", "fastapi", "/plain"),
        Case("lib.dep", "GET /dep, a no-op async dependency, app without passgate", "fastapi", "/dep",
             baseline="lib.plain"),
        Case("lib.installed.plain", "GET /plain after auth.install(app) (not guarded)", "sqlite", "/plain",
             baseline="lib.plain", target=0.97),
        Case("lib.dep.bearer", "GET /dep, no-op dependency, bearer headers sent", "fastapi", "/dep", "bearer"),
        Case("lib.dep.cookie", "GET /dep, no-op dependency, cookie headers sent", "fastapi", "/dep", "cookie"),
    ]
    for dependency, path, word in (("current_user", "/hello", "hello"), ("optional_user", "/maybe", "maybe")):
        rows.append(Case(f"lib.{word}.bearer", f"GET {path}, Depends(auth.{dependency}), bearer", "sqlite", path,
                         "bearer", "lib.dep.bearer", 0.90))
        rows += [Case(f"lib.{word}.cookie.{store}", f"GET {path}, Depends(auth.{dependency}), cookie, "
                      f"{STORE_LABEL[store]} store", store, path, "cookie", "lib.dep.cookie", 0.90)
                 for store in STORE_LABEL]
    for kind in ("bearer", "cookie"):
        rows.append(Case(f"lib.starlette.{kind}", f"Starlette GET /hello without passgate, {kind} headers sent",
                         "starlette", "/hello", kind))
        rows.append(Case(f"lib.starlette.passgate.{kind}", f"Starlette GET /hello, PassgateMiddleware + "
                         f"requires_user, {kind}", "starlette+passgate", "/hello", kind,
                         f"lib.starlette.{kind}", 0.90))
    return rows


def _server(lab: Lab, app: App, loop: str, http: str) -> procs.Server:
    work = lab.dir(f"library-{app.name}")
    if app.app_py is not None:
        (work / "app.py").write_text(app.app_py)
    env = {**procs.FAST_HASHING, "PYTHONPATH": f"{work}:{USERAPPS}", "PASSGATE_DATA_DIR": str(work / "passgate-data")}
    if app.store == "redis":
        assert lab.redis is not None
        env["PASSGATE_STORE"] = lab.redis.url.rsplit("/", 1)[0] + "/3"  # a database no other phase flushes
    elif app.store is not None:
        env["PASSGATE_STORE"] = app.store
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app.target, "--host", "127.0.0.1", "--port", str(port),
               "--loop", loop, "--http", http, "--no-access-log", "--workers", "1"]
    server = procs.Server(f"library-{app.name}", command, port=port, log_dir=lab.logs, env=env)
    server.cwd = work
    return server


def _credentials(url: str) -> dict[str, list[str]]:
    """16 bearer tokens and 8 session cookies of one user, as header lines."""
    with Passgate(url) as api:
        api.register(USER)
        bearers = [f"Authorization: Bearer {api.token_login(USER).access_token}" for _ in range(BEARERS)]
        cookies = [f"Cookie: {api.cookie_login(USER).header}" for _ in range(COOKIES)]
    return {"bearer": bearers, "cookie": cookies}


def _check(url: str, case: Case, lines: list[str], guarded: bool) -> None:
    """Every credential the run will send gets 200, and a guarded route names the user (``optional_user``
    answers 200 to a dead credential too, which would measure the wrong path)."""
    import httpx

    for line in lines or [""]:
        name, _, value = line.partition(": ")
        answer = httpx.get(url + case.path, headers={name: value} if line else {}, timeout=30.0)
        if answer.status_code != 200 or (guarded and answer.json().get("hello") != USER):
            raise SetupFailed(f"{case.path} answered {answer.status_code} {answer.text[:200]} before the run")


def _run(url: str, headers: Path | None, load: Load, seconds: int) -> wrk.WrkRun:
    env = {"BENCH_HEADERS": str(headers)} if headers is not None else {}
    return wrk.WrkRun(url, load=load, script="cycle.lua", env=env, seconds=seconds)


@dataclass
class Running:
    """A case ready to run: its URL, its header file, its server's pid, and what its runs found."""

    case: Case
    url: str
    headers: Path | None
    pid: int | None
    runs: list[Measurement]
    cpu: float = 0.0

    def measurement(self) -> Measurement:
        return wrk.combine(self.runs, self.cpu if self.pid is not None else None)


def alternate(ready: list[Running], load: Load, rounds: int) -> None:
    """Every case once per round, in reverse order every other round (ABBA): a row and its baseline
    see the same drift of the machine's speed, so their per-round ratio holds."""
    seconds = max(1, load.duration // 2)
    if load.warmup > 0:
        for one in ready:
            _run(one.url, one.headers, load, load.warmup).start().wait()
    for index in range(rounds):
        for one in ready if index % 2 == 0 else ready[::-1]:
            before = wrk.cpu_seconds(one.pid)
            one.runs.append(_run(one.url, one.headers, load, seconds).start().wait())
            after = wrk.cpu_seconds(one.pid)
            if before is not None and after is not None:
                one.cpu += after - before


def library(lab: Lab) -> None:
    loop, http = event_loop_and_parser()
    smoke = lab.plan.load.duration <= 1
    rounds = SMOKE_ROUNDS if smoke else ROUNDS
    wanted = [a for a in apps() if a.store != "redis" or (lab.redis is not None and not lab.redis_problem)]
    with ExitStack() as stack:
        servers = {a.name: stack.enter_context(_started(_server(lab, a, loop, http))) for a in wanted}
        ready = _prepare(lab, servers, {a.name: a for a in wanted})
        alternate(ready, lab.plan.load, rounds)
    for one in ready:
        lab.record(one.case.id, one.case.label, one.measurement)
    lab.results.figures["library"] = {
        "rounds": rounds, "seconds_per_run": max(1, lab.plan.load.duration // 2),
        "cases": [_case_dict(c) for c in cases()], "loop": loop, "http": http,
    }


@contextmanager
def _started(server: procs.Server) -> Iterator[procs.Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _prepare(lab: Lab, servers: dict[str, procs.Server], known: dict[str, App]) -> list[Running]:
    """Log in on each passgate app; the header files; every case checked once.  A case whose app is
    not running (no Redis) is skipped with the reason."""
    lines: dict[str, dict[str, list[str]]] = {name: _credentials(s.url) for name, s in servers.items()
                                              if known[name].passgate}
    ready = []
    for case in cases():
        server = servers.get(case.app)
        if server is None:
            lab.skip(case.id, case.label, f"unavailable: {lab.redis_problem or 'no redis-server'}")
            continue
        # An app without passgate is sent the SQLite app's credentials: the same bytes, nobody checks them.
        sent = lines.get(case.app, lines["sqlite"]).get(case.credential, []) if case.credential else []
        headers = None
        if sent:
            headers = lab.dir("library-headers") / f"{case.id}.txt"
            headers.write_text("\n".join(sent) + "\n")
        _check(server.url, case, sent, guarded=known[case.app].passgate and bool(sent))
        ready.append(Running(case, server.url + case.path, headers, server.pid, []))
    return ready


def _case_dict(case: Case) -> dict[str, Any]:
    return {"id": case.id, "label": case.label, "app": case.app, "path": case.path,
            "credential": case.credential, "baseline": case.baseline, "target": case.target}
