"""The session cookie: ``__Host-passgate`` with ``Secure; HttpOnly; SameSite=Lax; Path=/``; the device
cookie (``__Host-passgate-device``) travels the same way."""

from __future__ import annotations

from passgate.transports.base import RequestHead


class CookieTransport:
    def __init__(self, *, insecure: bool = False, max_age: int | None = None, name: str = "passgate") -> None:
        #: ``--insecure-cookies`` drops ``Secure`` and with it the ``__Host-`` prefix, which requires it.
        self.name = name if insecure else "__Host-" + name
        self._secure = not insecure
        self._max_age = max_age

    def read(self, head: RequestHead) -> str | None:
        """This cookie's value from the request's ``Cookie`` header(s), without parsing the others."""
        header = head.cookie
        if self.name not in header:
            return None
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.name:
                return value.strip('"') or None
        return None

    def challenge(self) -> None:
        """A cookie is asked for by a login page, not by a header."""
        return None

    def _attributes(self) -> str:
        return "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self._secure else "")

    def attributes(self) -> str:
        """The cookie's attributes as ``Set-Cookie`` gives them, without its lifetime (``Path=/; HttpOnly; …``)."""
        return self._attributes().removeprefix("; ")

    def set_header(self, value: str) -> str:
        """The ``Set-Cookie`` value that hands the browser this cookie."""
        age = f"; Max-Age={self._max_age}" if self._max_age else ""
        return f"{self.name}={value}{age}{self._attributes()}"

    def clear_header(self) -> str:
        """The ``Set-Cookie`` value that makes the browser forget the session."""
        return f'{self.name}=""; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{self._attributes()}'
