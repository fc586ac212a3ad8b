"""Start ``passgate serve`` as a real process on a free loopback port, and stop it by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import httpx

#: Cheap argon2id parameters so that tests log in fast; the defaults are tested on their own.
FAST_HASHING = {
    "PASSGATE_PASSWORD_TIME_COST": "1",
    "PASSGATE_PASSWORD_MEMORY_KIB": "8192",
    "PASSGATE_PASSWORD_PARALLELISM": "1",
}

#: The deployment secret of nodes that share a database with other tests' nodes (a real cluster
#: shares one secret the same way: ``--secret`` or a copy of ``secret.key``).
SHARED_SECRET = {"PASSGATE_SECRET": "tests-shared-deployment-secret-0123456789abcdef"}


def die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (Linux), so that a
    killed test run or benchmark leaves no server behind."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float) -> float:
    """Poll ``check`` until it holds; the seconds it took, or AssertionError after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - started


class ServedProcess:
    """An HTTP server process on a free loopback port, healthy once ``/healthz`` answers; stopped by its pid."""

    def __init__(self, command: list[str], *, port: int, env: dict[str, str], log_path: Path,
                 cwd: Path | None = None) -> None:
        self.command, self.port, self.env, self.log_path, self.cwd = command, port, env, log_path, cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command} exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.command} did not become healthy:\n{self.log()}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(**({"base_url": self.url, "timeout": 10.0} | options))  # type: ignore[arg-type]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Node(ServedProcess):
    """One ``passgate serve`` process."""

    def __init__(self, data_dir: Path, *args: str, port: int | None = None, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        port = port or free_port()
        command = [sys.executable, "-m", "passgate.cli", "serve", "--port", str(port),
                   "--data-dir", str(data_dir), *args]
        super().__init__(command, port=port, env={**os.environ, **FAST_HASHING, **(env or {})},
                         log_path=data_dir / f"node-{port}.log")
