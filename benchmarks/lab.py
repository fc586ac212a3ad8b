"""The benchmark lab: every scenario in one run, then ``results.md``, ``results.json`` and ``chart.png``.

    make bench                                      # the full run, about eleven minutes on two cores
    python -m benchmarks.lab --smoke --out /tmp/x   # every scenario for about a second (the smoke test)
    python -m benchmarks.lab --only stores,peer     # some phases, while working on them

Phases: ceiling (the ceiling, the memory store, EdDSA), algorithms (ES256, HS256), instructions
(/healthz and /api/me under callgrind), stores (SQLite and Redis with 1,000 to 1,000,000 logins),
logins (argon2id throughput and the storm), peer (fastapi-users), revocation (the lag across
three nodes), library (passgate inside the user's own FastAPI and Starlette apps) and tradeoffs
(sessions vs tokens: token size, store operations, the store outage; with the sizes and the lag
above they make ``docs/sessions-vs-tokens.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import (
    chart,
    comparison,
    instructions,
    library,
    logins,
    machine,
    report,
    revocation,
    scenarios,
    tradeoffs,
)
from benchmarks.context import Lab, Plan, describe
from benchmarks.procs import pin
from benchmarks.results import Results
from benchmarks.wrk import Load
from tests.servers import RedisServer, ServerError

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs"
PHASES: dict[str, tuple[str, Callable[[Lab], None]]] = {
    "ceiling": ("the ceiling, the memory store and EdDSA", scenarios.ceiling_and_memory),
    "algorithms": ("bearer tokens signed ES256 and HS256", scenarios.algorithms),
    "instructions": ("instructions per request under callgrind", instructions.instructions),
    "stores": ("SQLite and Redis stores as logins pile up", scenarios.stores_and_scale),
    "logins": ("login throughput and the login storm", logins.login_throughput),
    "peer": ("the peer: fastapi-users", scenarios.compare_peer),
    "revocation": ("revocation lag across three nodes", revocation.revocation_lag),
    "library": ("passgate inside the user's own app (FastAPI and Starlette)", library.library),
    "tradeoffs": ("sessions vs tokens: token size, store operations, the store outage", tradeoffs.tradeoffs),
}
SMOKE = Plan(load=Load(threads=1, connections=4, duration=1, warmup=0, timeout=5, repeats=1),
             login_counts=(200, 400, 800), seed_budget=60.0, revocations=10, login_connections=2, scale_repeats=1)


def parse(argv: Sequence[str] | None) -> tuple[Plan, Path, list[str]]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="every scenario for about a second, few logins")
    p.add_argument("--out", type=Path, default=HERE, help="where results.md, results.json and chart.png go")
    p.add_argument("--only", default=",".join(PHASES), help="comma-separated phases (default: all)")
    p.add_argument("--duration", type=int, help="measured seconds of each wrk run")
    p.add_argument("--warmup", type=int, help="warm-up seconds before each wrk run")
    p.add_argument("--connections", type=int, help="wrk connections")
    p.add_argument("--logins", help="login counts, comma-separated (the first is the baseline)")
    p.add_argument("--revocations", type=int, help="logouts in the revocation-lag scenario")
    p.add_argument("--seed-budget", type=float, help="seconds all seeding may take")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument("--render", action="store_true",
                   help="measure nothing: write results.md and chart.png again from the results.json in --out")
    args = p.parse_args(argv)
    plan = SMOKE if args.smoke else Plan()
    load = dataclasses.replace(plan.load, **{k: v for k, v in (("duration", args.duration), ("warmup", args.warmup),
                                                                ("connections", args.connections)) if v is not None})
    changes: dict[str, object] = {"load": load, "chart": not args.no_chart}
    if args.logins:
        changes["login_counts"] = tuple(int(x) for x in args.logins.split(","))
    if args.revocations is not None:
        changes["revocations"] = args.revocations
    if args.seed_budget is not None:
        changes["seed_budget"] = args.seed_budget
    phases = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))} (choose from {', '.join(PHASES)})")
    if args.render:
        phases = []
    return dataclasses.replace(plan, **changes), args.out, phases  # type: ignore[arg-type]


def settings(plan: Plan, loop: str, http: str) -> dict[str, object]:
    load = plan.load
    return {
        "server": f"`passgate serve`, one process (uvicorn, one worker, loop {loop}, http {http}), pinned to core 0 "
                  "(`taskset -c 0`); argon2id lowered to t=1, m=8 MiB, p=1 except in the login scenarios, which "
                  "run passgate's defaults (t=3, m=64 MiB, p=4)",
        "wrk": f"`wrk -t{load.threads} -c{load.connections} --timeout {load.timeout}s` pinned to core 1 "
               f"(`taskset -c 1`); {load.warmup} s warm-up (discarded), then {load.repeats} runs of {load.duration} s; "
               "req/s, p50 and p99 are the medians of the runs; one authenticated request repeated; any answer "
               "≥ 400 or socket error marks the scenario invalid",
        "ceilings": "each `/api/me` judged against the ceiling runs on its server in runs of half the length, "
                    "twice as many, alternating with `GET /healthz` (ceiling, scenario, scenario, ceiling, ...); "
                    "its share of the ceiling is the "
                    "median of the pairs' ratios, so drift in the machine's speed cancels; the headline "
                    "ceiling row is `/healthz` measured on its own",
        "server CPU µs/req": "the server process's CPU time over the measured run ÷ its requests: a cost that "
                             "other load on the machine disturbs less than req/s",
        "stores": "memory://; sqlite:///<data dir>/state.db (the embedded default); redis://: a private "
                  "redis-server (no persistence, no replica) on a free loopback port, pinned to core 1",
        "login_counts": list(plan.login_counts),
        "as logins pile up": f"each `/api/me` scenario there runs {plan.scale_repeats} times (not "
                             f"{load.repeats}) alternating with `/healthz`; the counts are measured minutes "
                             "apart, so each p99 is compared as a multiple of its own server's `/healthz` p99 "
                             "(the median over the pairs), which drift in the machine's speed leaves alone",
        "seeded logins": "4 per user, half cookie and half token, typical User-Agent; built with passgate's "
                         "Login + encode and keyed by login_key/index_key, written in bulk with the store's own "
                         "statements, then a sample read back through open_store and a seeded cookie sent to "
                         f"/api/me; seeding budget {plan.seed_budget:.0f} s",
        "login storm": f"`POST /api/session` from wrk with {plan.login_connections} connections (login.lua), one "
                       f"run of {load.duration * load.repeats + 2} s after a warm-up; "
                       f"the /api/me probe beside it: {plan.probe_connections} connections, each pausing "
                       f"{plan.probe_delay_ms} ms between requests (paced.lua), so it measures latency, not queueing",
        "peer": "fastapi-users (latest release) + fastapi-users-db-sqlalchemy on SQLite (aiosqlite), one backend "
                "per process, under the same uvicorn version and flags, pinned to core 0; its Redis is the lab's",
        "revocation": f"{plan.revocations:,} logouts, 3 `passgate serve` nodes sharing one data dir and store, "
                      "not pinned; lag from node A's 2xx answer until B and C both answer 401, polled back to back",
    }


def run(plan: Plan, phases: list[str]) -> Results:
    results = Results()
    started = time.monotonic()
    source = machine.source_digest()
    loop, http = machine.event_loop_and_parser()
    results.context.update(machine.describe())
    results.context["started_at"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    results.context["settings"] = settings(plan, loop, http)
    with tempfile.TemporaryDirectory(prefix="passgate-bench-") as work:
        lab = Lab(plan, Path(work), results)
        busy = results.context["machine"]["busy_before_start"]
        if busy > 0.2:
            lab.note(f"other processes kept the cores {busy:.0%} busy just before the run: they share the two cores "
                     "with it, so req/s may be low and p99 high; server CPU µs/req is the steadier figure")
        redis = _start_redis(lab)
        try:
            scenarios.check_redis_store(lab)
            for name in phases:
                title, phase = PHASES[name]
                with lab.phase(title):
                    phase(lab)
        finally:
            if redis is not None:
                redis.close()
    results.context["machine"]["load_average_at_end"] = [round(x, 2) for x in machine.load_average()]
    if machine.source_digest() != source:
        results.notes.append("passgate's source (src/passgate) changed while this run went on: its figures mix "
                             "two versions; run `make bench` again")
    results.context["seconds"] = round(time.monotonic() - started)
    return results


def _start_redis(lab: Lab) -> RedisServer | None:
    try:
        redis = RedisServer().start()
        if redis.pid is not None:
            pin(redis.pid, "1")
    except (ServerError, OSError) as exc:
        lab.note(f"no redis-server for the lab ({describe(exc)}): the Redis scenarios are unavailable")
        return None
    lab.redis = redis
    return redis


def write(results: Results, out: Path, *, draw: bool) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    picture = None
    if draw and chart.available():
        chart.draw(results, out / "chart.png")
        picture = "chart.png"
    elif draw:
        results.notes.append("no chart: matplotlib is not installed in this interpreter (`make bench` installs it)")
    # The comparison document goes to docs/ from the real run, beside the other results otherwise.
    comparison.write(results, DOCS if out.resolve() == HERE.resolve() else out, draw and chart.available())
    results.save(out / "results.json")
    page = out / "results.md"
    page.write_text(report.render(results, chart=picture))
    return page


def preflight() -> None:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)} (Debian: apt-get install {' '.join(missing)}; "
                         "`make bench` installs them)")
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("the lab needs two cores: one for the server, one for wrk")


def main(argv: Sequence[str] | None = None) -> int:
    plan, out, phases = parse(argv)
    if not phases:  # --render
        results = Results.load(out / "results.json")
        results.notes = [n for n in results.notes if not n.startswith("no chart:")]
    else:
        preflight()
        results = run(plan, phases)
    page = write(results, out, draw=plan.chart)
    print("\n" + page.read_text())
    print(f"written: {page}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
