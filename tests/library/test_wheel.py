"""The wheel that ``python -m build`` makes, installed into a fresh venv outside the checkout, works."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import passgate
from tests.library.apps import ROOT, AppProcess, check_hello, clean_env, readme_example

#: The tables an application that installs passgate gets (its users, keys, addresses and mail).
PASSGATE_TABLES = {"users", "signing_keys", "deployment_facts", "user_emails", "mail_tokens", "mail_outbox",
                   "user_totp", "user_recovery_codes", "username_skeletons", "account_states", "user_roles",
                   "user_passkeys"}

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=clean_env(), capture_output=True, text=True,
        timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_wheel_installs_and_serves_the_readme_example(tmp_path: Path) -> None:
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("passgate-*.whl")
    assert wheel.name.startswith(f"passgate-{passgate.__version__}-")
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp_path)

    probe = "import json, passgate, pathlib; print(json.dumps([passgate.__file__, passgate.__version__]))"
    location, version = json.loads(run(venv / "bin" / "python", "-c", probe, cwd=work))
    package = Path(location).parent
    assert package.is_relative_to(venv), f"passgate imported from {package}, not from the fresh venv"
    assert (package / "py.typed").is_file()
    assert (package / "board" / "templates" / "base.html").is_file()
    assert version == passgate.__version__
    assert run(venv / "bin" / "passgate", "--version", cwd=work).strip() == f"passgate {passgate.__version__}"

    # No extras: no server, no form parser, neither driver of the optional backends, and a clear word when
    # one is asked for.
    missing = ("import importlib.util as u; print([m for m in ('uvicorn', 'python_multipart', 'redis', 'asyncpg')"
               " if u.find_spec(m) is None])")
    assert run(venv / "bin" / "python", "-c", missing, cwd=work).strip() == \
        "['uvicorn', 'python_multipart', 'redis', 'asyncpg']"
    serve = subprocess.run([venv / "bin" / "passgate", "serve"], cwd=work, env=clean_env(), capture_output=True,
                           text=True, timeout=60, check=False)
    assert serve.returncode != 0 and "pip install 'passgate[server]'" in serve.stderr
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[server]",
        cwd=tmp_path)  # what the README's `uvicorn app:app` runs on
    redis_store = "from passgate.root import open_store; open_store('redis://127.0.0.1:1/0')"
    refused = subprocess.run([venv / "bin" / "python", "-c", redis_store], cwd=work, env=clean_env(),
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "pip install 'passgate[redis]'" in refused.stderr

    (work / "app.py").write_text(readme_example(), encoding="utf-8")
    # The installed package's own type information (py.typed) is what mypy reads for it.
    run(sys.executable, "-m", "mypy", "--strict", "--python-executable", venv / "bin" / "python",
        "--cache-dir", tmp_path / "mypy-cache", "app.py", cwd=work)
    with AppProcess("app:app", cwd=work, uvicorn=[str(venv / "bin" / "uvicorn")]) as app:
        check_hello(app.url)
        with app.client() as client:
            assert client.get("/api/posts").status_code == 404  # the board is not what runs
    with sqlite3.connect(work / "passgate-data" / "passgate.db") as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == PASSGATE_TABLES

    # The extra brings the Redis store.
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[redis]",
        cwd=tmp_path)
    built = run(venv / "bin" / "python", "-c", redis_store.replace("; open", "; print(type(open") + "))", cwd=work)
    assert "RedisStore" in built
