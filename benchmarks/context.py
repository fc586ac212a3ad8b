"""What every scenario shares: the plan, a scratch directory, the lab's Redis and the results."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.results import Entry, Results
from benchmarks.wrk import Load, Measurement
from tests.servers import RedisServer


def describe(exc: BaseException) -> str:
    """An exception in one line, for a note."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


@dataclass(frozen=True)
class Plan:
    """The settings of a run; all of them are recorded with its results."""

    load: Load = field(default_factory=Load)
    #: Logins that exist while ``/api/me`` is measured; the first is the baseline.
    login_counts: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    #: Seconds the seeding of all counts may take; a count that would not fit is reduced (and said).
    seed_budget: float = 360.0
    #: Runs of each scenario as logins pile up: their p99s are compared, and p99 is the noisiest figure.
    scale_repeats: int = 5
    revocations: int = 1_000
    #: wrk connections of the login storm (argon2id-bound: a few keep the hashing pool busy).
    login_connections: int = 4
    #: The ``/api/me`` latency probe beside the storm: connections, and each one's pause between requests.
    probe_connections: int = 2
    probe_delay_ms: int = 5
    peer: bool = True
    chart: bool = True


class Lab:
    """One run: where its servers keep their files, and what it found."""

    def __init__(self, plan: Plan, work: Path, results: Results) -> None:
        self.plan = plan
        self.work = work
        self.results = results
        self.redis: RedisServer | None = None
        #: Why the Redis store cannot be measured (None: it can).
        self.redis_problem: str | None = "not checked yet"

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    def dir(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def note(self, text: str) -> None:
        self.results.notes.append(text)
        print(f"  note: {text}", flush=True)

    def record(self, entry_id: str, label: str, measure: Callable[[], Measurement]) -> Entry:
        """Run one measurement; a failure becomes the entry's note, never the end of the run."""
        started = time.monotonic()
        try:
            found = measure()
        except Exception as exc:
            traceback.print_exc()
            return self.skip(entry_id, label, f"failed: {describe(exc)}")
        note = ""
        if found.errors:
            note = f"invalid: {found.errors} of {found.requests} requests failed"
        elif not found.requests:
            note = "invalid: no request completed"
        entry = self.results.add(Entry(entry_id, label, found, note))
        took = time.monotonic() - started
        print(f"  {label}: {found.rps:,.0f} req/s, p50 {found.p50_ms:.2f} ms, p99 {found.p99_ms:.2f} ms"
              f"{' — ' + note if note else ''} ({took:.0f} s)", flush=True)
        return entry

    def skip(self, entry_id: str, label: str, why: str) -> Entry:
        print(f"  {label}: {why}", flush=True)
        return self.results.add(Entry(entry_id, label, None, why))

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        print(f"\n== {title}", flush=True)
        try:
            yield
        except Exception as exc:
            traceback.print_exc()
            self.note(f"{title}: stopped early ({describe(exc)})")
        finally:
            self.results.figures.setdefault("phase_seconds", {})[title] = round(time.monotonic() - started, 1)
