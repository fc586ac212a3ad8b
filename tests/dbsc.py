"""A Device Bound Session Credentials client written from the W3C draft: what a browser does,
with a P-256 key made by ``cryptography`` and its proofs signed with PyJWT.

It keeps its own cookie jar (the default ``Secure`` cookies travel over plain http this way),
reads ``Secure-Session-Registration`` from a login's answer, registers by ``POST`` to its path
with a ``Secure-Session-Response`` (header ``typ: dbsc+jwt``, ``alg``, the public ``jwk``;
claims ``jti``: the challenge), and refreshes by ``POST`` to the session's ``refresh_url`` with
``Sec-Secure-Session-Id``, signing the challenge that a 403 carries in ``Secure-Session-Challenge``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.dpop import Key, compact

_PARAM = re.compile(r';\s*([a-z_]+)="((?:[^"\\]|\\.)*)"')


def sf_params(value: str) -> dict[str, str]:
    """The string parameters of a structured-field item (``path``, ``challenge``, ``id``)."""
    return {name: raw.replace('\\"', '"').replace("\\\\", "\\") for name, raw in _PARAM.findall(value)}


def sf_item(value: str) -> str:
    """The bare string of a structured-field string item: ``"abc";id="x"`` → ``abc``."""
    match = re.match(r'\s*"((?:[^"\\]|\\.)*)"', value)
    assert match, value
    return match[1]


def proof(key: Key, challenge: str, *, registration: bool, **changes: Any) -> str:
    """A DBSC proof: the header carries the public key at registration only."""
    header: dict[str, Any] = {"alg": key.alg, "typ": "dbsc+jwt"}
    if registration:
        header["jwk"] = key.jwk
    header.update(changes.pop("header", {}))
    claims: dict[str, Any] = {"jti": challenge, **changes.pop("claims", {})}
    return compact(changes.pop("signer", key), {k: v for k, v in header.items() if v is not None}, claims)


@dataclass
class Browser:
    """One browser profile: a cookie jar, a key once registered, the session it was told about."""

    http: httpx.Client
    key: Key = field(default_factory=Key)
    cookies: dict[str, str] = field(default_factory=dict)
    offer: dict[str, str] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)
    csrf: str = ""

    def keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def cookie_header(self, *names: str) -> dict[str, str]:
        chosen = {k: v for k, v in self.cookies.items() if not names or k in names}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in chosen.items())} if chosen else {}

    def send(self, method: str, path: str, *, only: tuple[str, ...] = (), **kw: Any) -> httpx.Response:
        headers = {**self.cookie_header(*only), **kw.pop("headers", {})}
        return self.keep(self.http.request(method, path, headers=headers, **kw))

    def login(self, name: str, password: str = "correct horse") -> httpx.Response:
        response = self.send("POST", "/api/session", json={"username": name, "password": password})
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf_token"]
        offered = response.headers.get("secure-session-registration")
        self.offer = {"algorithms": offered.split(")", 1)[0].lstrip("("), **sf_params(offered)} if offered else {}
        return response

    def register(self, **changes: Any) -> httpx.Response:
        """Answer the login's offer as a browser would (``changes`` make it a hostile one)."""
        challenge = changes.pop("challenge", self.offer["challenge"])
        signed = proof(self.key, challenge, registration=True, **changes)
        response = self.send("POST", self.offer["path"], headers={"Secure-Session-Response": f'"{signed}"'})
        if response.status_code == 200:
            self.session = response.json()
        return response

    def refresh(self, *, sign_with: Key | None = None, response: str | None = None) -> httpx.Response:
        """One refresh as the draft has it: ask, get a 403 with a challenge, sign it, ask again."""
        headers = {"Sec-Secure-Session-Id": f'"{self.session["session_identifier"]}"'}
        url = self.session["refresh_url"]
        if response is not None:
            return self.send("POST", url, headers={**headers, "Secure-Session-Response": f'"{response}"'})
        first = self.send("POST", url, headers=headers)
        if first.status_code != 403:
            return first
        challenge = sf_item(first.headers["secure-session-challenge"])
        self.last_proof = proof(sign_with or self.key, challenge, registration=False)
        return self.send("POST", url, headers={**headers, "Secure-Session-Response": f'"{self.last_proof}"'})

    last_proof: str = ""
