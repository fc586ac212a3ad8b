"""Logins: how many ``POST /api/session`` per second argon2id allows, and what they do to ``/api/me``.

The server runs with passgate's default argon2id parameters (t=3, m=64 MiB, p=4).  The target is
90% of (cores ÷ one hash's time), where the cores are those the server may use (its ``taskset``)
and the hash time is measured with argon2-cffi, in a process pinned the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

from benchmarks import procs, wrk
from benchmarks.client import PASSWORD, Passgate, SetupFailed
from benchmarks.context import Lab
from benchmarks.scenarios import cookie_headers
from benchmarks.wrk import Load, Measurement

USER = "storm"
HASHES = 5
#: Seconds the storm runs before the probe starts measuring (the hashing pool is full by then).
STORM_LEAD = 2
_HASH_TIME = f"""
import json, statistics, time
import argon2
from passgate.identity.passwords import usable_cores
from passgate.web.serving import keep_hash_memory
keep_hash_memory(65536 * 1024, usable_cores())  # the allocator as passgate serve sets it
hasher = argon2.PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=argon2.Type.ID)
stored = hasher.hash("warm-up")
times = []
for _ in range({HASHES}):
    started = time.perf_counter()
    hasher.verify(stored, "warm-up")
    times.append(time.perf_counter() - started)
print(json.dumps(statistics.median(times)))
"""


def hash_seconds(cores: str | None) -> float:
    """The median time of one argon2id verification at the default parameters, on ``cores``, with
    malloc keeping the hash's memory as ``passgate serve`` has it (without, each hash also pays
    16,384 page faults, and the bound would flatter the server).

    argon2-cffi computes the p=4 lanes in threads of their own, so one verification on two
    cores finishes sooner than on one; on one core its time is the CPU it costs.
    """
    command = ([sys.executable, "-c", _HASH_TIME] if cores is None
               else ["taskset", "-c", cores, sys.executable, "-c", _HASH_TIME])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return float(json.loads(done.stdout))


def _loads(lab: Lab) -> tuple[Load, Load]:
    """The login load is one long run (a few logins a second: short runs would count whole requests
    lost at their ends); the probe repeats like every other scenario."""
    base = lab.plan.load
    login = replace(base, threads=1, connections=lab.plan.login_connections, timeout=max(base.timeout, 20),
                    duration=max(1, base.duration * base.repeats + 2), warmup=min(base.warmup, 1) * 2, repeats=1)
    probe = replace(base, threads=1, connections=lab.plan.probe_connections)
    return login, probe


def _login_env() -> dict[str, str]:
    return {"BENCH_BODY": json.dumps({"username": USER, "password": PASSWORD})}


def _storm_and_probe(lab: Lab, server: procs.Server, headers: dict[str, str]) -> Measurement:
    """Logins at full speed for the whole run; the probe measures once they are under way."""
    login_load, probe_load = _loads(lab)
    base = lab.plan.load
    storm = wrk.WrkRun(server.url + "/api/session", load=login_load, script="login.lua", env=_login_env(),
                       seconds=STORM_LEAD + base.duration * base.repeats + 2).start()
    try:
        time.sleep(STORM_LEAD)
        probe = wrk.measure(server.url + "/api/me", load=replace(probe_load, warmup=0),
                            server_pid=server.pid, script="paced.lua", headers=headers, env=_probe_env(lab))
    finally:
        during = storm.wait()
    lab.record("login.storm", "POST /api/session during the probe", lambda: during)
    return probe


def _probe_env(lab: Lab) -> dict[str, str]:
    return {"BENCH_DELAY_MS": str(lab.plan.probe_delay_ms)}


def login_throughput(lab: Lab) -> None:
    figures = lab.results.figures
    figures["hash_seconds_all_cores"] = hash_seconds(None)
    login_load, probe_load = _loads(lab)
    with procs.passgate("logins", lab.dir("logins"), log_dir=lab.logs, env=procs.DEFAULT_HASHING) as server, \
            Passgate(server.url) as api:
        figures["login_server_cores"] = len(os.sched_getaffinity(server.pid or 0))
        api.register(USER)
        headers = cookie_headers(api.cookie_login(USER))
        if api.me(headers) != 200:
            raise SetupFailed("the probe's cookie is refused")
        lab.record("me.probe", "GET /api/me (cookie, SQLite), paced probe, alone", lambda: wrk.measure(
            server.url + "/api/me", load=probe_load, server_pid=server.pid, script="paced.lua", headers=headers,
            env=_probe_env(lab)))
        # The hash time right before and right after the login run, on the same (then idle) core: the
        # machine's speed drifts within a minute, and the bound must see the speed the logins saw.
        before = hash_seconds("0")
        lab.record("login", "POST /api/session (argon2id t=3, m=64 MiB, p=4)", lambda: wrk.measure(
            server.url + "/api/session", load=login_load, server_pid=server.pid, script="login.lua",
            env=_login_env()))
        wrk.wait_idle(server.pid)  # the run's last logins still hashing would slow the measurement down
        after = hash_seconds("0")
        lab.record("me.probe.storm", "GET /api/me (cookie, SQLite), paced probe, during the login storm",
                   lambda: _storm_and_probe(lab, server, headers))
    # Measured right before and after the login run, the mean: other load on the machine moves it too.
    figures["hash_seconds_core0_runs"] = [before, after]
    figures["hash_seconds_core0"] = (before + after) / 2
    with procs.passgate("logins-all-cores", lab.dir("logins"), log_dir=lab.logs, env=procs.DEFAULT_HASHING,
                        cores=None) as server:
        figures["login_all_cores_server_cores"] = len(os.sched_getaffinity(server.pid or 0))
        lab.record("login.all_cores", "POST /api/session, server on all cores (informative)", lambda: wrk.measure(
            server.url + "/api/session", load=login_load, server_pid=server.pid, script="login.lua",
            env=_login_env()))
