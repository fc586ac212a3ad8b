"""Helpers for the second factor in end-to-end tests: an authenticator app (pyotp, as a phone
would run it) and the steps of turning TOTP on and logging in with it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import pyotp

from tests.e2e.api import Session, login, register


@dataclass
class Enrolled:
    """An account with TOTP on: its name, password, secret, recovery codes and the login it enrolled from."""

    name: str
    password: str
    secret: str
    recovery_codes: list[str]
    session: Session

    def code(self, steps: int = 0) -> str:
        """The app's code ``steps`` time steps from now (the server accepts one step either side)."""
        return pyotp.TOTP(self.secret).at(time.time() + 30 * steps)


def settle() -> None:
    """Wait out the end of a time step, so that the codes of a test are all for the steps they mean."""
    left = 30 - time.time() % 30
    if left < 4:
        time.sleep(left + 0.1)


def enrol(client: httpx.Client, name: str | None = None) -> Enrolled:
    """A new account with TOTP on, confirmed by the code of the step before now: the steps of now
    and the next one are left for the test's logins."""
    name, password = register(client, name)
    session = login(client, name, password)
    started = client.post("/api/me/totp", json={"password": password}, headers=session.headers())
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    settle()
    confirmed = client.post("/api/me/totp/confirm", json={"code": pyotp.TOTP(secret).at(time.time() - 30)},
                            headers=session.headers())
    assert confirmed.status_code == 200, confirmed.text
    return Enrolled(name, password, secret, confirmed.json()["recovery_codes"], session)


def mfa_token(client: httpx.Client, account: Enrolled, path: str = "/api/session", **kw: object) -> str:
    """The ``mfa_token`` that the right password gets at a login endpoint."""
    answer = client.post(path, json={"username": account.name, "password": account.password}, **kw)  # type: ignore[arg-type]
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "mfa_required"
    token: str = answer.json()["mfa_token"]
    return token
