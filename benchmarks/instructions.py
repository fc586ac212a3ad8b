"""Instructions per request: what ``/api/me`` costs beside ``/healthz``, counted rather than timed.

req/s on a shared machine moves by tens of percent within seconds; callgrind's instruction count
does not (the same binary and inputs give the same count whatever else the machine does).  One
``passgate serve`` runs under ``valgrind --tool=callgrind`` on the memory store; each route gets
the same sequential keep-alive requests, and the count between two dumps (``callgrind_control
-d``) divided by the requests is its cost.  Instructions are not time (a cache miss costs more
than an add), but they settle what the passgate code on the path adds.
"""

from __future__ import annotations

import glob
import http.client
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import procs
from benchmarks.client import Passgate
from benchmarks.context import Lab
from benchmarks.scenarios import USER, bearer_headers, cookie_headers
from tests.servers import free_port

WARM = 30
#: Seconds the idle server is watched: its background loops (key reload every 2 s, the mail outbox
#: every 1 s, an address's renewal every 1 s while a user is active) run by the clock, not per
#: request, and under valgrind a request lasts ~50 times longer, so they would weigh on the count.
IDLE_SECONDS, SMOKE_IDLE_SECONDS = 10.0, 2.0


def available() -> str | None:
    """Why this phase cannot run here (None: it can)."""
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def _total(out_prefix: Path) -> int:
    """Instructions counted so far: the sum of every dump's total."""
    total = 0
    for name in glob.glob(f"{out_prefix}.*"):
        with open(name, errors="replace") as dump:
            for line in dump:
                if line.startswith(("summary:", "totals:")):
                    total += int(line.split()[1])
                    break
    return total


def _dump(pid: int) -> None:
    done = subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or "OK" not in done.stdout:
        raise RuntimeError(f"callgrind_control -d {pid} failed: {(done.stdout + done.stderr)[-300:]}")


def _idle_rate(pid: int, out_prefix: Path, seconds: float) -> float:
    """Instructions per second of the server while no request comes: its clock-driven work."""
    _dump(pid)
    before, started = _total(out_prefix), time.monotonic()
    time.sleep(seconds)
    _dump(pid)
    return (_total(out_prefix) - before) / (time.monotonic() - started)


def _per_request(pid: int, port: int, out_prefix: Path, path: str, headers: dict[str, str],
                 count: int) -> tuple[int, float]:
    """Instructions per request, and the wall seconds the ``count`` requests took under valgrind."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        def get() -> None:
            connection.request("GET", path, headers={**headers, "User-Agent": "bench"})
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"{path} answered {answer.status}")

        for _ in range(WARM):
            get()
        _dump(pid)
        before, started = _total(out_prefix), time.monotonic()
        for _ in range(count):
            get()
        took = time.monotonic() - started
        _dump(pid)
        return (_total(out_prefix) - before) // count, took
    finally:
        connection.close()


def instructions(lab: Lab) -> None:
    why = available()
    if why:
        lab.note(f"instructions per request not counted: {why}")
        return
    count = 20 if lab.plan.load.duration <= 1 else 300
    work = lab.dir("callgrind")
    out_prefix = work / "callgrind.out"
    port = free_port()
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_prefix}", sys.executable, "-m",
               "passgate.cli", "serve", "--port", str(port), "--data-dir", str(work), "--store", "memory://"]
    server = procs.Server("callgrind", command, port=port, log_dir=lab.logs, env=procs.FAST_HASHING)
    server.start(timeout=300)  # python under callgrind takes a minute to import and start
    try:
        assert server.pid is not None
        with Passgate(server.url, timeout=300) as api:
            api.register(USER)
            cases = {
                "healthz": ("/healthz", {}),
                "cookie": ("/api/me", cookie_headers(api.cookie_login(USER))),
                "bearer": ("/api/me", bearer_headers(api.token_login(USER).access_token)),
            }
        raw = {name: _per_request(server.pid, port, out_prefix, path, headers, count)
               for name, (path, headers) in cases.items()}
        idle = _idle_rate(server.pid, out_prefix, SMOKE_IDLE_SECONDS if count < 300 else IDLE_SECONDS)
    finally:
        server.stop()
    found = {name: counted for name, (counted, _) in raw.items()}
    # What the clock-driven loops ran while the requests went on, shared out over them.
    net = {name: max(0, counted - round(idle * took / count)) for name, (counted, took) in raw.items()}
    lab.results.figures["instructions_per_request"] = {**found, "requests": count}
    lab.results.figures["instructions_idle"] = {
        "per_second": round(idle), "net_per_request": net,
        "seconds": {name: round(took, 2) for name, (_, took) in raw.items()},
    }
    print("  instructions per request: " + ", ".join(f"{k} {v:,} (net of idle work {net[k]:,})"
                                                       for k, v in found.items()) +
          f"; idle {idle:,.0f}/s", flush=True)
