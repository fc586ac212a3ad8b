"""The peer the lab compares passgate with: fastapi-users, in a virtualenv of its own."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.procs import Server
from tests.servers import free_port

HERE = Path(__file__).parent
VENV = HERE.parent / ".peer-venv"
APP_MODULE = "fastapi_users_app:app"


class PeerUnavailable(RuntimeError):
    """The peer's virtualenv could not be made (no network, a failed install)."""


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise PeerUnavailable(f"{what} failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return done.stdout


def ensure_venv(*, uvicorn_version: str, loop: str, http: str) -> dict[str, str]:
    """Make (or bring up to date, once a day) the peer's virtualenv; the versions in it.

    fastapi-users is the latest release on PyPI; uvicorn is the version passgate runs on, with the
    same event loop and HTTP parser, so both servers differ only in the app.
    """
    python = VENV / "bin" / "python"
    marker = VENV / "installed.json"
    wanted = ["fastapi-users[sqlalchemy,redis]", "aiosqlite", f"uvicorn=={uvicorn_version}"]
    wanted += ["uvloop"] if loop == "uvloop" else []
    wanted += ["httptools"] if http == "httptools" else []
    today = datetime.date.today().isoformat()
    state = json.loads(marker.read_text()) if marker.exists() else {}
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(VENV)], "creating the peer virtualenv")
    if state.get("wanted") != wanted or state.get("checked") != today:
        _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--upgrade", *wanted],
             "installing fastapi-users into the peer virtualenv")
    versions = json.loads(_run([str(python), "-c", (
        "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
        "('fastapi-users', 'fastapi-users-db-sqlalchemy', 'fastapi', 'starlette', 'uvicorn', 'sqlalchemy', "
        "'aiosqlite', 'pyjwt', 'redis', 'pwdlib')}))"
    )], "reading the peer's versions"))
    marker.write_text(json.dumps({"wanted": wanted, "checked": today, "versions": versions}))
    return {str(k): str(v) for k, v in versions.items()}


def server(backend: str, *, data_dir: Path, redis_url: str, log_dir: Path, loop: str, http: str) -> Server:
    """The peer app under uvicorn, one worker, settings as ``passgate serve`` gives its own uvicorn."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(VENV / "bin" / "python"), "-m", "uvicorn", APP_MODULE, "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(port), "--loop", loop, "--http", http, "--lifespan", "on",
        "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "info",
    ]
    env = {"PEER_BACKEND": backend, "PEER_REDIS_URL": redis_url,
           "PEER_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'users.db'}"}
    return Server(f"fastapi-users-{backend}", command, port=port, log_dir=log_dir, env=env)
