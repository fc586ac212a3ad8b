"""Run an application that embeds passgate under uvicorn, as a user would, and check it over HTTP."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.dpop import Key
from tests.e2e.api import COOKIE, assert_problem, bearer, cookie_value, login, register, tokens
from tests.nodes import FAST_HASHING, ServedProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"


def readme_example() -> str:
    """The first ```python block of the README: the contract's ``app.py``."""
    match = re.search(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
    assert match, "README.md has no ```python block"
    return match[1]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without PASSGATE_* or PYTHONPATH, plus fast hashing and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSGATE_") and k != "PYTHONPATH"}
    return {**env, **FAST_HASHING, **(extra or {})}


class AppProcess(ServedProcess):
    """``uvicorn TARGET`` as a process on a free loopback port, in ``cwd``; stopped by its pid."""

    def __init__(
        self, target: str, *, cwd: Path, app_dir: Path | None = None, env: dict[str, str] | None = None,
        uvicorn: Sequence[str] = (sys.executable, "-m", "uvicorn"),
    ) -> None:
        port = free_port()
        command = [*uvicorn, target, "--host", "127.0.0.1", "--port", str(port)]
        if app_dir is not None:
            command += ["--app-dir", str(app_dir)]
        cwd.mkdir(parents=True, exist_ok=True)
        super().__init__(command, port=port, env=clean_env(env), log_path=cwd / f"uvicorn-{port}.log", cwd=cwd)


def check_hello(url: str) -> str:
    """The contract's checks of ``GET /hello``: 401 problem+json anonymous, 200 with the name by token and cookie.

    Returns the username it registered.
    """
    with httpx.Client(base_url=url, timeout=10.0) as client:
        anonymous = client.get("/hello")
        assert_problem(anonymous, 401, "not_authenticated")
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert_problem(client.get("/hello", headers=bearer("not.a.token")), 401, "token_invalid")

        name, password = register(client)
        pair = tokens(client, name, password)
        by_token = client.get("/hello", headers=bearer(pair["access_token"]))
        assert by_token.status_code == 200, by_token.text
        assert by_token.json()["hello"] == name

        key = Key()  # a DPoP-bound token: the same dependency takes it with its proof, never as Bearer
        bound = client.post("/api/token", json={"username": name, "password": password},
                            headers={"DPoP": key.proof("POST", f"{url}/api/token")}).json()
        token = bound["access_token"]
        proved = {"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", f"{url}/hello", token=token)}
        assert client.get("/hello", headers=proved).json()["hello"] == name
        assert_problem(client.get("/hello", headers=bearer(token)), 401, "invalid_dpop_proof")

        opened = client.post("/api/session", json={"username": name, "password": password})
        assert opened.status_code == 200, opened.text
        set_cookie = next(h for h in opened.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
        assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= {a.strip() for a in set_cookie.split(";")}
        by_cookie = client.get("/hello", headers={"Cookie": f"{COOKIE}={cookie_value(opened)}"})
        assert by_cookie.status_code == 200, by_cookie.text
        assert by_cookie.json()["hello"] == name

        session = login(client, name, password)
        assert client.delete("/api/session", headers=session.headers()).status_code == 204
        assert_problem(client.get("/hello", headers=session.headers(csrf=False)), 401)
    return name
