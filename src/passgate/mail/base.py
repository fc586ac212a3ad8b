"""What delivers a mail: a :class:`Sender` (:mod:`passgate.mail.smtp`, :mod:`passgate.mail.log`)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class DeliveryFailed(Exception):
    """The mail was not taken.  ``permanent``: the server refused it for good (a 5xx reply), so
    retrying cannot help; otherwise (no connection, a timeout, a 4xx reply) the outbox retries."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason, self.permanent = reason, permanent
        super().__init__(reason)


class Sender(Protocol):
    """Hands one mail to whatever carries it; DeliveryFailed when that fails."""

    @property
    def description(self) -> str:
        """Where mail goes, for the log (never a password)."""

    async def send(self, message: EmailMessage) -> None: ...
