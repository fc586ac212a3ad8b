"""Servers the lab starts: ``passgate serve`` and the peer app, each one process pinned to one core.

Every process is the tests' ``ServedProcess`` started under ``taskset``: waited for on ``/healthz``
with a bounded timeout, stopped by its pid (SIGTERM, then SIGKILL), and dying with the lab
(``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.nodes import FAST_HASHING, ServedProcess, free_port

__all__ = ["DEFAULT_HASHING", "FAST_HASHING", "Server", "passgate", "pin"]

#: passgate's defaults (RFC 9106's second recommendation), for the login-throughput scenario.
DEFAULT_HASHING = {
    "PASSGATE_PASSWORD_TIME_COST": "3",
    "PASSGATE_PASSWORD_MEMORY_KIB": "65536",
    "PASSGATE_PASSWORD_PARALLELISM": "4",
}


def pin(pid: int, cores: str) -> None:
    """Move a running process and all its threads to ``cores`` (e.g. a redis-server started elsewhere)."""
    subprocess.run(["taskset", "-a", "-p", "-c", cores, str(pid)], capture_output=True, check=True, timeout=10)


class Server(ServedProcess):
    """The tests' served process (free loopback port, healthy on ``/healthz``, stopped by its pid),
    pinned to ``cores`` with taskset (None: unpinned)."""

    def __init__(self, name: str, command: Sequence[str], *, port: int, log_dir: Path,
                 env: dict[str, str] | None = None, cores: str | None = "0") -> None:
        super().__init__((["taskset", "-c", cores] if cores is not None else []) + list(command), port=port,
                         env={**os.environ, **(env or {})}, log_path=log_dir / f"{name}-{port}.log")
        self.name = name

    def start(self, timeout: float = 60.0) -> Server:
        return super().start(timeout)


def passgate(name: str, data_dir: Path, *args: str, log_dir: Path, env: dict[str, str] | None = None,
             cores: str | None = "0") -> Server:
    """``passgate serve`` (one worker, the embedded defaults unless ``args`` say otherwise)."""
    port = free_port()
    command = [sys.executable, "-m", "passgate.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), *args]
    return Server(name, command, port=port, log_dir=log_dir, env={**FAST_HASHING, **(env or {})}, cores=cores)
