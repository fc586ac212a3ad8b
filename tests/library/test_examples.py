"""Every example under ``examples/`` started with uvicorn as a process and spoken to over HTTP."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.library.apps import EXAMPLES, AppProcess, check_hello, readme_example

#: The tables an application that installs passgate gets (its users, keys, addresses and mail).
PASSGATE_TABLES = {"users", "signing_keys", "deployment_facts", "user_emails", "mail_tokens", "mail_outbox",
                   "user_totp", "user_recovery_codes", "username_skeletons", "account_states", "user_roles",
                   "user_passkeys"}


def test_the_fastapi_example_is_the_readme_example() -> None:
    assert (EXAMPLES / "fastapi_app.py").read_text(encoding="utf-8") == readme_example()


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_fastapi_example(tmp_path: Path) -> None:
    with AppProcess("fastapi_app:app", cwd=tmp_path, app_dir=EXAMPLES) as app:
        check_hello(app.url)
        with app.client() as client:
            # passgate's own routes, none of the board's
            assert client.get("/api/posts").status_code == 404
            assert client.get("/login").status_code == 404
            assert client.get("/static/style.css").status_code == 404
            paths = client.get("/openapi.json").json()["paths"]
            assert "/api/token" in paths and not any("posts" in path for path in paths)
    # the embedded defaults, in the working dir; passgate's tables only
    assert tables(tmp_path / "passgate-data" / "passgate.db") == PASSGATE_TABLES


def test_starlette_example(tmp_path: Path) -> None:
    with AppProcess("starlette_app:app", cwd=tmp_path, app_dir=EXAMPLES) as app:
        check_hello(app.url)
        with app.client() as client:
            assert client.get("/.well-known/jwks.json").json()["keys"]
            assert client.get("/openapi.json").json()["paths"]["/api/token"]
            missing = client.get("/no/such/page")
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("application/problem+json")


def test_own_users_example_keeps_users_in_the_apps_table(tmp_path: Path) -> None:
    database = tmp_path / "members.db"
    env = {"APP_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    with AppProcess("own_users:app", cwd=tmp_path, app_dir=EXAMPLES, env=env) as app:
        name = check_hello(app.url)
        with app.client() as client:
            taken = client.post("/api/users", json={"username": name.upper(), "password": "correct horse"})
            assert taken.status_code == 409, taken.text
            assert taken.json()["code"] == "username_taken"
            lookalike = client.post("/api/users", json={"username": name.replace("o", "\u043e"),
                                                         "password": "correct horse"})
            assert lookalike.status_code in (409, 422), lookalike.text  # a lookalike (or two scripts)
            login = client.post("/api/token", json={"username": name, "password": "correct horse"}).json()
            profile = client.get("/profile", headers={"Authorization": f"Bearer {login['access_token']}"})
            assert profile.json() == {"username": name, "display_name": ""}
            ada = client.post("/api/users", json={"username": "ada", "password": "correct horse",
                                                  "display_name": "Ada Lovelace"})
            assert ada.status_code == 201, ada.text
            login = client.post("/api/token", json={"username": "ada", "password": "correct horse"}).json()
            profile = client.get("/profile", headers={"Authorization": f"Bearer {login['access_token']}"})
            assert profile.json() == {"username": "ada", "display_name": "Ada Lovelace"}
            document = client.get("/openapi.json").json()
            body = document["paths"]["/api/users"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            assert body["title"] == "MemberRegistration" and "display_name" in body["properties"]
            too_long = client.post("/api/users", json={"username": "bob", "password": "correct horse",
                                                       "display_name": "x" * 65})
            assert too_long.status_code == 422 and too_long.json()["code"] == "validation_failed"
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT username FROM members ORDER BY created_at").fetchall() == [(name,), ("ada",)]
    assert "users" not in tables(tmp_path / "passgate-data" / "passgate.db")  # the app keeps its users
