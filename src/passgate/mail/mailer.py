"""The mail part's face: mail a link (its token and its mail queued in one transaction), spend a
link's token, and run the outbox's delivery loop on this node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.errors import MailUnavailable, StoreUnavailable
from passgate.mail.base import Sender
from passgate.mail.messages import PATHS
from passgate.mail.outbox import MAX_BACKLOG, Outbox
from passgate.mail.schema import mail_tokens
from passgate.mail.sealing import Sealer
from passgate.mail.tokens import SpentToken, new_token, spend

log = logging.getLogger("passgate.mail")


@dataclass(frozen=True)
class MailOptions:
    #: The ``From`` of every mail (``--mail-from``).
    sender_address: str = "passgate@localhost"
    #: How long a mailed link works (``--mail-token-ttl``), seconds.
    token_ttl: float = 900.0


@dataclass(frozen=True)
class Link:
    """One mail with a link: its kind (``verify`` or ``reset``), for whom, and what the mail says."""

    kind: str
    recipient: str
    user_id: str
    email_key: str
    username: str
    #: The deployment's public URL (``--public-url``, else the request's own scheme and host).
    base_url: str


class Mailer:
    def __init__(self, engine: AsyncEngine, sender: Sender | None, secret: bytes, options: MailOptions = MailOptions(),
                 *, clock: Callable[[], float] = time.time) -> None:
        self._engine, self._sender, self.options, self._clock = engine, sender, options, clock
        self.outbox = Outbox(engine, sender, Sealer(secret), sender_address=options.sender_address, clock=clock)
        self._loop: asyncio.Task[None] | None = None

    def check_available(self) -> None:
        """MailUnavailable unless a mail queued now will be sent: a mail server is configured and
        the outbox is not backed up."""
        if self._sender is None:
            raise MailUnavailable("this deployment sends no mail (no --smtp-url)")
        if self.outbox.backlog >= MAX_BACKLOG:
            raise MailUnavailable("the mail server has not taken mail for a while; try again later")

    async def send_link(self, link: Link) -> None:
        """Queue the mail of ``link`` with a fresh token in it; delivered after this returns."""
        self.check_available()
        now, ttl = float(self._clock()), self.options.token_ttl
        token, row = new_token(link.kind, link.user_id, link.email_key, now=now, ttl=ttl)
        context = {"username": link.username, "address": link.recipient, "minutes": max(1, round(ttl / 60)),
                   "link": f"{link.base_url}{PATHS[link.kind]}?token={token}", "site": link.base_url}
        await self._queue(row, link.kind, link.recipient, context)

    async def send_nothing(self, email_key: str) -> None:
        """The same work as :meth:`send_link`, and no mail: for an address that gets none, so that
        the answer takes as long either way."""
        self.check_available()
        _, row = new_token("void", None, email_key, now=float(self._clock()), ttl=self.options.token_ttl)
        await self._queue(row, "void", "", {"username": "", "address": "", "minutes": 0, "link": "", "site": ""})

    async def _queue(self, token_row: dict[str, object], kind: str, recipient: str, context: dict[str, object]) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(mail_tokens).values(**token_row))
                await self.outbox.put(conn, kind, recipient, context, expires_at=float(token_row["expires_at"]))  # type: ignore[arg-type]
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc
        # No wake-up of the delivery loop: it runs on its own clock (within POLL_INTERVAL), so the
        # work of sending a mail never follows the request that asked for it, where its timing
        # would tell a known address from an unknown one.

    async def spend(self, purpose: str, token: str) -> SpentToken:
        """Spend a link's token (MailTokenInvalid, MailTokenExpired)."""
        try:
            async with self._engine.begin() as conn:
                return await spend(conn, purpose, token, now=float(self._clock()))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    async def forget(self, user_id: str, purpose: str | None = None) -> None:
        """Kill the account's live links (of one purpose, or all)."""
        where = [mail_tokens.c.user_id == user_id]
        if purpose is not None:
            where.append(mail_tokens.c.purpose == purpose)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(delete(mail_tokens).where(*where))
        except SQLAlchemyError as exc:
            raise StoreUnavailable("the database failed") from exc

    def start(self) -> None:
        """Run the outbox's delivery loop on this node (no loop when the deployment sends no mail)."""
        if self._sender is None:
            log.info("no --smtp-url: this node sends no mail (verification and reset answer 503 mail_unavailable)")
            return
        if self._loop is not None:
            return
        log.info("mail goes through %s", self._sender.description)
        self._loop = asyncio.create_task(self.outbox.run(), name="passgate-mail-outbox")

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
