"""Drive a server with wrk, pinned to its own core, and read the figures that ``lua/report.lua`` prints."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
_MARK = "WRK_JSON "


class WrkError(RuntimeError):
    """wrk could not run, or printed no figures."""


@dataclass(frozen=True)
class Load:
    """How wrk drives one scenario; recorded with every run."""

    threads: int = 1
    connections: int = 16
    #: Seconds of each measured run; ``repeats`` runs follow ``warmup`` seconds whose figures are thrown away.
    duration: int = 2
    warmup: int = 1
    repeats: int = 3
    timeout: int = 5
    #: The core wrk runs on (the server under test gets another one).
    core: int = 1


@dataclass(frozen=True)
class Measurement:
    """One scenario's figures: over several runs, the median of each run's rate and percentiles
    (a burst of other load on the machine spoils one run, not the figure), totals for the rest."""

    requests: int
    seconds: float
    #: Connect, read and write errors, timeouts, and answers with a status of 400 or more.
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    #: CPU seconds the server process used during the measured runs (None: not measured).
    server_cpu: float | None = None
    #: Each run's requests per second, and p99 in ms (their spread shows how steady the machine was).
    runs: tuple[float, ...] = ()
    p99_runs: tuple[float, ...] = ()

    @property
    def rps(self) -> float:
        if self.runs:
            return statistics.median(self.runs)
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1e6

    @property
    def server_cpu_share(self) -> float | None:
        """The share of one core that the server got: near 1.0 means it was CPU-bound."""
        return None if self.server_cpu is None or not self.seconds else self.server_cpu / self.seconds

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "rps": self.rps, "cpu_us_per_request": self.cpu_us_per_request,
                "server_cpu_share": self.server_cpu_share}


def cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU time of a process and all its threads so far."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int | None, *, timeout: float = 10.0, window: float = 0.2) -> None:
    """Wait until the server has finished what a stopped wrk left it: wrk closes its connections, but
    the server still answers the requests it had read (a queue of logins takes a second or more), and
    a run started meanwhile would pay for them without counting them."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while before is not None and time.monotonic() < deadline:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now is None or now - before <= window * 0.1:
            return
        before = now


def _command(url: str, load: Load, seconds: int, script: str, headers: dict[str, str]) -> list[str]:
    command = ["taskset", "-c", str(load.core), "wrk", f"-t{load.threads}", f"-c{load.connections}",
               f"-d{seconds}s", f"--timeout={load.timeout}s", "-s", str(LUA_DIR / script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url]


class WrkRun:
    """One wrk process; several may run at once (a login storm beside a latency probe)."""

    def __init__(self, url: str, *, load: Load, script: str = "get.lua", headers: dict[str, str] | None = None,
                 env: dict[str, str] | None = None, seconds: int | None = None) -> None:
        self.command = _command(url, load, seconds or load.duration, script, headers or {})
        self.env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **(env or {})}
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> WrkRun:
        try:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True)
        except OSError as exc:
            raise WrkError(f"cannot run wrk: {exc}") from exc
        return self

    def wait(self) -> Measurement:
        assert self.process is not None
        output, _ = self.process.communicate()
        line = next((line for line in output.splitlines() if line.startswith(_MARK)), None)
        if self.process.returncode != 0 or line is None:
            raise WrkError(f"wrk exited {self.process.returncode} without figures:\n{output[-2000:]}")
        data = json.loads(line[len(_MARK):])
        errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
        seconds = data["duration_us"] / 1e6
        return Measurement(
            requests=data["requests"], seconds=seconds, errors=errors,
            p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
            max_ms=data["max_us"] / 1000, runs=(data["requests"] / seconds if seconds else 0.0,),
            p99_runs=(data["p99_us"] / 1000,),
        )


def combine(runs: list[Measurement], server_cpu: float | None) -> Measurement:
    """Several runs of one scenario as one measurement (medians of rates and percentiles)."""
    return Measurement(
        requests=sum(r.requests for r in runs), seconds=sum(r.seconds for r in runs),
        errors=sum(r.errors for r in runs), p50_ms=statistics.median(r.p50_ms for r in runs),
        p90_ms=statistics.median(r.p90_ms for r in runs), p99_ms=statistics.median(r.p99_ms for r in runs),
        max_ms=max(r.max_ms for r in runs), server_cpu=server_cpu, runs=tuple(r.rps for r in runs),
        p99_runs=tuple(r.p99_ms for r in runs),
    )


def measure(url: str, *, load: Load, server_pid: int | None, script: str = "get.lua",
            headers: dict[str, str] | None = None, env: dict[str, str] | None = None) -> Measurement:
    """A warm-up run (thrown away), then ``load.repeats`` measured runs, with the server's CPU time over them."""
    if load.warmup > 0:
        WrkRun(url, load=load, script=script, headers=headers, env=env, seconds=load.warmup).start().wait()
        wait_idle(server_pid)
    before = cpu_seconds(server_pid)
    runs = [WrkRun(url, load=load, script=script, headers=headers, env=env).start().wait()
            for _ in range(max(1, load.repeats))]
    after = cpu_seconds(server_pid)
    return combine(runs, after - before if before is not None and after is not None else None)


def measure_paired(url: str, ceiling_url: str, *, load: Load, server_pid: int | None,
                   headers: dict[str, str] | None = None, script: str = "get.lua",
                   env: Callable[[int], dict[str, str]] | None = None) -> tuple[Measurement, Measurement]:
    """``url`` and the server's ceiling in alternating runs, (url's, the ceiling's).

    The machine's speed drifts by tens of percent within seconds when other work shares it; short
    runs that alternate (ceiling first, then the scenario first: ABBA) see the same drift, so
    their ratio holds where two separate series would not.  ``env(seconds)``: the environment of each
    of ``url``'s runs, made just before it (fresh DPoP proofs, say).
    """

    def own(seconds: int) -> dict[str, str] | None:
        return env(seconds) if env is not None else None

    if load.warmup > 0:
        WrkRun(ceiling_url, load=load, seconds=load.warmup).start().wait()
        WrkRun(url, load=load, headers=headers, script=script, env=own(load.warmup), seconds=load.warmup).start().wait()
    mine: list[Measurement] = []
    ceiling: list[Measurement] = []
    cpu = {"mine": 0.0, "ceiling": 0.0}
    # Twice the runs, each half as long: the same seconds, finer alternation.
    seconds = max(1, load.duration // 2)
    for index in range(max(1, load.repeats) * (load.duration // seconds)):
        order = [("ceiling", ceiling_url, None, ceiling), ("mine", url, headers, mine)]
        for name, target, sent, runs in order if index % 2 == 0 else order[::-1]:
            wrk_run = (WrkRun(target, load=load, headers=sent, script=script, env=own(seconds), seconds=seconds)
                       if name == "mine" else WrkRun(target, load=load, seconds=seconds))
            before = cpu_seconds(server_pid)
            runs.append(wrk_run.start().wait())
            after = cpu_seconds(server_pid)
            if before is not None and after is not None:
                cpu[name] += after - before
    known = server_pid is not None
    return combine(mine, cpu["mine"] if known else None), combine(ceiling, cpu["ceiling"] if known else None)


def version() -> str:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].removeprefix("wrk ").strip() if first else "unknown"
