"""Start ``passgate serve`` as a real process on a free loopback port, and stop it by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    """One ``passgate serve`` process."""

    def __init__(self, data_dir: Path, *args: str, port: int | None = None, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.args = list(args)
        self.port = port or free_port()
        self.env = {**os.environ, **FAST_HASHING, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"node-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Node:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "passgate.cli", "serve", "--port", str(self.port),
                   "--data-dir", str(self.data_dir), *self.args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"passgate serve exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"passgate serve did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **options)  # type: ignore[arg-type]
