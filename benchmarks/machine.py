"""What a run records about where it ran: the machine, the versions, how busy the machine was."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks import wrk


def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return "not installed"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def busy_share(seconds: float = 2.0) -> float:
    """How busy all cores were over the last ``seconds`` (0 to 1), from /proc/stat."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def redis_version() -> str:
    line = _first_line(["redis-server", "--version"])
    for part in line.split():
        if part.startswith("v="):
            return part[2:]
    return line


SOURCE = Path(__file__).resolve().parents[1] / "src" / "passgate"


def source_digest() -> str:
    """A digest of passgate's source files: a run whose source changed midway mixes two versions."""
    digest = hashlib.sha256()
    for path in sorted(SOURCE.rglob("*.py")):
        digest.update(str(path.relative_to(SOURCE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def git_revision() -> str:
    """The checkout's commit, and whether passgate's source differs from it."""
    commit = _first_line(["git", "-C", str(SOURCE), "rev-parse", "--short", "HEAD"])
    if commit in ("not installed", "unknown") or commit.startswith("fatal"):
        return "not a git checkout"
    changed = _first_line(["git", "-C", str(SOURCE), "status", "--porcelain", "--", "."])  # "unknown": none
    return commit + (" + uncommitted changes in src/passgate" if changed != "unknown" else "")


def describe() -> dict[str, Any]:
    """The machine and the versions of everything a figure depends on."""
    return {
        "machine": {
            "cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": round(memory_gib(), 1),
            "kernel": platform.release(), "load_average_at_start": [round(x, 2) for x in load_average()],
            "busy_before_start": round(busy_share(), 2),
        },
        "versions": {
            "python": platform.python_version(), "passgate": f"{_version('passgate')} ({git_revision()})",
            "wrk": wrk.version(),
            "redis": redis_version(), "uvicorn": _version("uvicorn"), "fastapi": _version("fastapi"),
            "starlette": _version("starlette"), "argon2-cffi": _version("argon2-cffi"), "pyjwt": _version("pyjwt"),
            "redis-py": _version("redis"), "sqlite": __import__("sqlite3").sqlite_version,
        },
    }


def event_loop_and_parser() -> tuple[str, str]:
    """What uvicorn's ``auto`` picks in this interpreter: (loop, http), so the peer runs the same."""
    loop = "uvloop" if _importable("uvloop") else "asyncio"
    http = "httptools" if _importable("httptools") else "h11"
    return loop, http


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
