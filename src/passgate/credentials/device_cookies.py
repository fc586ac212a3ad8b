"""Device cookies: OWASP's answer to a lockout that anyone can cause ("Slow Down Online Guessing
Attacks with Device Cookies").

After a successful login the client gets a device cookie, ``ISSUED.NONCE.MAC``: the issue time, 128
random bits, and an HMAC (under a key derived from the deployment secret) of both, of the user's id
and of the user's password hash.  It names its account through the MAC alone, so the cookie tells a
reader nothing, and one of another account, or of another deployment, simply does not check.  The
server keeps no state for it; a new password ends every device cookie of the old one, so that one
who knew the old password cannot keep the device cookies they collected with it.

A login that presents a live device cookie of its account is not held to the account's lockout
(the one that strangers' guesses fill); its failures are counted under the cookie's own id instead
(:class:`~passgate.credentials.ratelimit.LoginLimiter`), so a stolen device cookie is itself locked
after as many failures as the login limit allows.  Each successful login hands out a fresh one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable

from passgate.credentials.secrets import Signer

__all__ = ["DeviceCookies"]

_COOKIE = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{24})$")
#: A cookie issued this far ahead of this node's clock still counts (another node's clock may be ahead).
CLOCK_SKEW = 60.0


class DeviceCookies:
    """Issues and checks device cookies; ``max_age`` seconds is how long one stays good."""

    def __init__(self, secret: bytes, *, max_age: float, clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(secret, "device-cookie")
        self.max_age, self._clock = max_age, clock

    def __repr__(self) -> str:
        return f"DeviceCookies(max_age={self.max_age!r})"

    def issue(self, user_id: str, password_hash: str) -> str:
        """A new device cookie of ``user_id``'s account, while its password hash is ``password_hash``."""
        issued, nonce = str(int(self._clock())), secrets.token_urlsafe(16)
        return f"{issued}.{nonce}.{self._signer.sign(_message(issued, nonce, user_id, password_hash))}"

    def device(self, cookie: str | None, user_id: str, password_hash: str) -> str | None:
        """The id that the failures of ``cookie``'s holder are counted under, when it is a live
        device cookie of ``user_id``'s account and its password; None for anything else."""
        found = _COOKIE.match(cookie) if cookie and len(cookie) < 64 else None
        if found is None:
            return None
        issued, nonce, mac = found.groups()
        if not -CLOCK_SKEW <= self._clock() - int(issued) <= self.max_age:
            return None
        if not self._signer.check(_message(issued, nonce, user_id, password_hash), mac):
            return None
        return hashlib.sha256(nonce.encode()).hexdigest()[:32]


def _message(issued: str, nonce: str, user_id: str, password_hash: str) -> str:
    # The fixed-form parts first: a user id (an application's own may hold dots) cannot shift them.
    return f"{issued}.{nonce}.{hashlib.sha256(password_hash.encode()).hexdigest()}.{user_id}"
