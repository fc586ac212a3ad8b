"""The web face of device-bound sessions (DBSC, ``--dbsc on``): the headers and cookie the draft names.

* A cookie login's answer offers registration: ``Secure-Session-Registration: (ES256 RS256);
  path="<prefix>/session/dbsc/register";challenge="…"`` (:meth:`DeviceBinding.offer`).
* Registration and refresh answer the session config JSON (:meth:`DeviceBinding.config`) with the
  short-lived bound cookie, ``__Host-passgate-bound`` (``passgate-bound`` under ``--insecure-cookies``).
* A refresh that must sign first answers 403 with ``Secure-Session-Challenge: "…";id="<login id>"``.
* A request of a bound login needs that bound cookie (:meth:`DeviceBinding.check`); an unbound login
  pays one attribute test for all of this.

Structured-field strings (RFC 9651) are read and written by :func:`sf_string` and :func:`sf_quote`.
"""

from __future__ import annotations

import re
from typing import Any

from passgate.credentials.dbsc import ALGORITHMS, DeviceSessions
from passgate.credentials.records import Login
from passgate.errors import BoundCookieRequired
from passgate.transports import CookieTransport, RequestHead

_SF_STRING = re.compile(r'^\s*"((?:[^"\\]|\\["\\])*)"\s*(?:;.*)?$')


def sf_string(value: str | None) -> str | None:
    """The string of a structured-field string item (its parameters ignored); a bare token-like
    value is taken as it is (a client that does not quote); None for anything else."""
    if value is None:
        return None
    match = _SF_STRING.match(value)
    if match:
        return match[1].replace('\\"', '"').replace("\\\\", "\\")
    bare = value.strip()
    return bare if bare and all(c.isascii() and (c.isalnum() or c in "-._~+/=") for c in bare) else None


def sf_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DeviceBinding:
    """What ``--dbsc on`` adds to a deployment's web face (the :class:`~passgate.web.gate.Gate` holds one)."""

    def __init__(self, sessions: DeviceSessions, *, insecure_cookies: bool, prefix: str = "/api") -> None:
        self.sessions = sessions
        self.cookie = CookieTransport(insecure=insecure_cookies, max_age=max(1, int(sessions.cookie_ttl)),
                                      name="passgate-bound")
        self.prefix = prefix

    @property
    def register_path(self) -> str:
        return f"{self.prefix}/session/dbsc/register"

    @property
    def refresh_path(self) -> str:
        return f"{self.prefix}/session/dbsc/refresh"

    async def offer(self, login: Login) -> dict[str, str]:
        """The headers that offer a new, unbound cookie login registration."""
        if login.jkt:
            return {}
        challenge = await self.sessions.challenge(login)
        algorithms = " ".join(ALGORITHMS)
        return {"Secure-Session-Registration":
                f"({algorithms});path={sf_quote(self.register_path)};challenge={sf_quote(challenge)}"}

    def check(self, head: RequestHead, login: Login) -> None:
        """BoundCookieRequired unless the request carries a live bound cookie of this bound login."""
        if not self.sessions.bound_cookie_valid(login, self.cookie.read(head)):
            raise BoundCookieRequired("this session is bound to a device: its browser must refresh its bound cookie")

    def set_cookie(self, login: Login) -> str:
        return self.cookie.set_header(self.sessions.bound_cookie(login))

    def config(self, login: Login) -> dict[str, Any]:
        """The session instructions of the draft: the session, where to refresh it, what it covers
        (this origin: the default scope) and the cookie it keeps fresh."""
        return {
            "session_identifier": login.id,
            "refresh_url": self.refresh_path,
            "scope": {"include_site": False},
            "credentials": [{"type": "cookie", "name": self.cookie.name,
                             "attributes": self.cookie.attributes()}],
        }
