"""Servers the lab starts: ``passgate serve`` and the peer app, each one process pinned to one core.

Every process is started under ``taskset``, waited for on its health route with a bounded timeout,
and stopped by its pid (SIGTERM, then SIGKILL); it also dies with the lab (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tests.servers import free_port

#: argon2id as ``tests/nodes.py`` lowers it, for the scenarios that only need logins to exist.
FAST_HASHING = {
    "PASSGATE_PASSWORD_TIME_COST": "1",
    "PASSGATE_PASSWORD_MEMORY_KIB": "8192",
    "PASSGATE_PASSWORD_PARALLELISM": "1",
}
#: passgate's defaults (RFC 9106's second recommendation), for the login-throughput scenario.
DEFAULT_HASHING = {
    "PASSGATE_PASSWORD_TIME_COST": "3",
    "PASSGATE_PASSWORD_MEMORY_KIB": "65536",
    "PASSGATE_PASSWORD_PARALLELISM": "4",
}


class ServerFailed(RuntimeError):
    """A server did not start or did not become healthy."""


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def pin(pid: int, cores: str) -> None:
    """Move a running process and all its threads to ``cores`` (e.g. a redis-server started elsewhere)."""
    subprocess.run(["taskset", "-a", "-p", "-c", cores, str(pid)], capture_output=True, check=True, timeout=10)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (loopback only)
            return bool(answer.status == 200)
    except OSError:
        return False


class Server:
    """One server process on a free loopback port."""

    def __init__(self, name: str, command: Sequence[str], *, port: int, log_dir: Path,
                 env: dict[str, str] | None = None, cores: str | None = "0", health: str = "/healthz") -> None:
        self.name = name
        self.port = port
        self.command = (["taskset", "-c", cores] if cores is not None else []) + list(command)
        self.cores = cores
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_dir / f"{name}-{port}.log"
        self.health = health
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 60.0) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            if healthy(self.url + self.health):
                return self
            time.sleep(0.1)
        self.stop()
        raise ServerFailed(f"{self.name} did not become healthy in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 25) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def passgate(name: str, data_dir: Path, *args: str, log_dir: Path, env: dict[str, str] | None = None,
             cores: str | None = "0") -> Server:
    """``passgate serve`` (one worker, the embedded defaults unless ``args`` say otherwise)."""
    port = free_port()
    command = [sys.executable, "-m", "passgate.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), *args]
    return Server(name, command, port=port, log_dir=log_dir, env={**FAST_HASHING, **(env or {})}, cores=cores)
