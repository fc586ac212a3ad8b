"""The outbox: every mail a request accepted waits in the database until an SMTP server took it.

Each node runs a :class:`Outbox` loop.  It claims due rows one by one with a compare-and-set
(``UPDATE … WHERE claimed_until < now``), so two nodes never both hold a row; it sends what it
claimed, then marks it sent.  A mail the server did not take is retried with exponential
backoff (1 s, 2 s, 4 s … at most :data:`MAX_BACKOFF`) until its link would be dead anyway, when it
is dropped.  A claim lasts :data:`LEASE` seconds: the one way a mail goes out twice is a node dying
between the SMTP server's acceptance and the mark, and the copy then carries the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from passgate.ids import new_id
from passgate.mail.base import DeliveryFailed, Sender
from passgate.mail.messages import compose
from passgate.mail.schema import mail_outbox, mail_tokens
from passgate.mail.sealing import Sealer

log = logging.getLogger("passgate.mail")

MAX_BACKOFF = 30.0
LEASE = 120.0
POLL_INTERVAL = 1.0
BATCH = 20
#: Undelivered mails past which new ones are refused (503 ``mail_unavailable``): the SMTP server
#: has taken nothing for a long while, and a growing queue would only hold dead links.
MAX_BACKLOG = 1000
#: Sent, dropped and failed rows (and spent tokens' leftovers) are purged after this long.
KEEP = 86400.0


def backoff(attempts: int) -> float:
    return float(min(MAX_BACKOFF, 2 ** max(0, attempts - 1)))


class Outbox:
    def __init__(self, engine: AsyncEngine, sender: Sender | None, sealer: Sealer, *, sender_address: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._engine, self._sender, self._sealer = engine, sender, sealer
        self.sender_address, self._clock = sender_address, clock
        self.node = new_id(12)
        self.backlog = 0
        self._last_purge = 0.0
        self._claimed = 0

    async def put(self, conn: AsyncConnection, kind: str, recipient: str, payload: dict[str, Any], *,
                  expires_at: float) -> str:
        """Queue one mail inside the caller's transaction; its id."""
        row_id, now = new_id(), float(self._clock())
        await conn.execute(insert(mail_outbox).values(
            id=row_id, kind=kind, recipient=recipient, payload=self._sealer.seal(row_id, payload), created_at=now,
            expires_at=expires_at, due_at=now, attempts=0, state="pending",
        ))
        return row_id

    async def run(self) -> None:
        """Deliver due mail every :data:`POLL_INTERVAL` (at once again after a full batch), forever."""
        while True:
            self._claimed = 0
            try:
                await self.deliver_due()
            except SQLAlchemyError as exc:  # the database is away: try again on the next round
                log.warning("outbox: the database failed (%s)", type(exc).__name__)
            if self._claimed < BATCH:
                await asyncio.sleep(POLL_INTERVAL)

    async def deliver_due(self) -> int:
        """One round: claim what is due and deliver it; the number of mails sent."""
        sent, rows = 0, await self._claim()
        self._claimed = len(rows)
        for row in rows:
            sent += await self._deliver(row)
        await self._housekeep()
        return sent

    async def _claim(self) -> list[Any]:
        now = float(self._clock())
        free = or_(mail_outbox.c.claimed_until.is_(None), mail_outbox.c.claimed_until < now)
        due = and_(mail_outbox.c.state == "pending", mail_outbox.c.due_at <= now, free)
        async with self._engine.connect() as conn:
            ids = [r.id for r in await conn.execute(
                select(mail_outbox.c.id).where(due).order_by(mail_outbox.c.due_at).limit(BATCH))]
        claimed = []
        for row_id in ids:
            async with self._engine.begin() as conn:
                won = await conn.execute(update(mail_outbox).where(mail_outbox.c.id == row_id, due)
                                         .values(claimed_by=self.node, claimed_until=now + LEASE))
            if won.rowcount:
                claimed.append(row_id)
        if not claimed:
            return []
        async with self._engine.connect() as conn:
            query = select(mail_outbox).where(mail_outbox.c.id.in_(claimed), mail_outbox.c.claimed_by == self.node)
            return list(await conn.execute(query))

    async def _deliver(self, row: Any) -> int:
        payload = self._sealer.open(row.id, row.payload) if row.payload else None
        if row.kind == "void" or payload is None:
            await self._finish(row.id, "void" if row.kind == "void" else "unreadable")
            return 0
        if row.expires_at <= self._clock():
            log.warning("outbox: mail %s (%s) dropped undelivered: its link has expired", row.id, row.kind)
            await self._finish(row.id, "expired")
            return 0
        message = compose(row.kind, mail_id=row.id, sender=self.sender_address, recipient=row.recipient,
                          context=payload)
        assert self._sender is not None
        try:
            await self._sender.send(message)
        except DeliveryFailed as exc:
            await self._failed(row, exc)
            return 0
        await self._finish(row.id, "sent")
        log.info("outbox: mail %s (%s) sent after %d earlier attempt(s)", row.id, row.kind, row.attempts)
        return 1

    async def _failed(self, row: Any, exc: DeliveryFailed) -> None:
        if exc.permanent:
            log.warning("outbox: mail %s (%s) refused for good: %s", row.id, row.kind, exc.reason)
            await self._finish(row.id, "failed")
            return
        wait = backoff(row.attempts + 1)
        log.warning("outbox: mail %s (%s) not sent (%s); retry in %.0f s", row.id, row.kind, exc.reason, wait)
        async with self._engine.begin() as conn:
            await conn.execute(update(mail_outbox).where(mail_outbox.c.id == row.id,
                                                         mail_outbox.c.claimed_by == self.node)
                               .values(attempts=row.attempts + 1, due_at=float(self._clock()) + wait,
                                       claimed_by=None, claimed_until=None))

    async def _finish(self, row_id: str, state: str) -> None:
        """The row's last state; its sealed payload (and the link in it) is dropped."""
        async with self._engine.begin() as conn:
            await conn.execute(update(mail_outbox).where(mail_outbox.c.id == row_id)
                               .values(state=state, payload=None, sent_at=float(self._clock()),
                                       claimed_until=None))

    async def _housekeep(self) -> None:
        now = float(self._clock())
        async with self._engine.connect() as conn:
            self.backlog = int((await conn.execute(
                select(func.count()).select_from(mail_outbox).where(mail_outbox.c.state == "pending"))).scalar_one())
        if now - self._last_purge < 60:
            return
        self._last_purge = now
        async with self._engine.begin() as conn:
            await conn.execute(delete(mail_outbox).where(mail_outbox.c.state != "pending",
                                                         mail_outbox.c.sent_at < now - KEEP))
            await conn.execute(delete(mail_tokens).where(mail_tokens.c.expires_at < now - KEEP))
