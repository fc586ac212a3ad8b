"""The tokens of mailed links: 256 random bits each, of which the database keeps only the SHA-256;
single use (spending one deletes its row), valid ``--mail-token-ttl``."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from passgate.errors import MailTokenExpired, MailTokenInvalid
from passgate.mail.schema import mail_tokens

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class SpentToken:
    """What a spent token was for."""

    purpose: str
    user_id: str
    email_key: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(purpose: str, user_id: str | None, email_key: str, *, now: float,
              ttl: float) -> tuple[str, dict[str, Any]]:
    """A fresh token and the row that stands for it."""
    token = secrets.token_urlsafe(32)
    row = {"digest": digest(token), "purpose": purpose, "user_id": user_id, "email_key": email_key,
           "created_at": now, "expires_at": now + ttl}
    return token, row


async def spend(conn: AsyncConnection, purpose: str, token: str, *, now: float) -> SpentToken:
    """Delete the token's row and say what it was for; MailTokenInvalid (unknown, spent, another
    purpose) or MailTokenExpired.  Of two requests spending one token, one wins: the delete's
    row count decides."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise MailTokenInvalid("the link is not valid")
    key = digest(token)
    row = (await conn.execute(select(mail_tokens).where(mail_tokens.c.digest == key))).first()
    if row is None or row.purpose != purpose or row.user_id is None:
        raise MailTokenInvalid("the link is not valid, or was used already")
    gone = await conn.execute(delete(mail_tokens).where(mail_tokens.c.digest == key))
    if not gone.rowcount:
        raise MailTokenInvalid("the link is not valid, or was used already")
    if row.expires_at <= now:
        raise MailTokenExpired("the link has expired; ask for a new one")
    return SpentToken(row.purpose, row.user_id, row.email_key)
