"""The mail part's tables: the tokens of mailed links and the outbox."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, LargeBinary, MetaData, String, Table

schema = MetaData()

#: A mailed link's token: only its SHA-256 is kept; a row is deleted when the token is spent.
mail_tokens = Table(
    "mail_tokens",
    schema,
    Column("digest", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("user_id", String(64), nullable=True),
    Column("email_key", String(320), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)
Index("mail_tokens_user", mail_tokens.c.user_id, mail_tokens.c.purpose)
Index("mail_tokens_expiry", mail_tokens.c.expires_at)

#: Mail waiting for an SMTP server.  ``payload`` (what the templates need, the link included) is
#: sealed under a key derived from the deployment secret, which the database does not hold, and
#: dropped once the mail is sent: the database alone never yields a usable token.
mail_outbox = Table(
    "mail_outbox",
    schema,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("payload", LargeBinary, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(32), nullable=True),
    Column("claimed_until", Float, nullable=True),
    Column("sent_at", Float, nullable=True),
    Column("state", String(16), nullable=False),
)
Index("mail_outbox_due", mail_outbox.c.state, mail_outbox.c.due_at)
