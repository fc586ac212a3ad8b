"""The outbox on a real database and a real SMTP server: each mail goes out once, waits while the
server is down, and the database never holds a usable token."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.deployment import create_schema
from passgate.errors import MailTokenExpired, MailTokenInvalid, MailUnavailable
from passgate.mail.log import LogSender
from passgate.mail.mailer import Link, Mailer, MailOptions
from passgate.mail.schema import mail_outbox, mail_tokens, schema
from passgate.mail.smtp import SmtpSender
from passgate.mail.tokens import digest
from passgate.root import open_engine
from tests.servers import SmtpServer

SECRET = b"s" * 32


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'mail.db'}")
    await create_schema(engine, schema)
    yield engine
    await engine.dispose()


def mailer(engine: AsyncEngine, url: str, clock: list[float], **options: float) -> Mailer:
    sender = LogSender() if url == "log://" else SmtpSender.from_url(url)
    return Mailer(engine, sender, SECRET, MailOptions("passgate@example.test", **options), clock=lambda: clock[0])


def link(kind: str = "reset", to: str = "ann@example.test") -> Link:
    return Link(kind, to, "user-1", to, "ann", "https://board.example")


def token_of(message: object) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    return str(text.split("?token=", 1)[1].split()[0])


async def test_a_mail_goes_out_once_with_text_and_html_and_the_link(
        engine: AsyncEngine, smtp_server: SmtpServer, clock: list[float]) -> None:
    mail = mailer(engine, smtp_server.url, clock)
    await mail.send_link(link())
    assert await mail.outbox.deliver_due() == 1
    assert await mail.outbox.deliver_due() == 0
    (message,) = smtp_server.messages()
    assert message["To"] == "ann@example.test" and message["From"] == "passgate@example.test"
    assert message["Subject"] == "Reset your password"
    html = message.get_body(("html",)).get_content()
    token = token_of(message)
    assert f"https://board.example/reset?token={token}" in html and len(token) == 43
    assert (await mail.spend("reset", token)).user_id == "user-1"


async def test_the_database_never_holds_a_usable_token(
        engine: AsyncEngine, smtp_server: SmtpServer, clock: list[float], tmp_path: Path) -> None:
    mail = mailer(engine, smtp_server.url, clock)
    await mail.send_link(link())
    # The database and its WAL, if a connection still holds one (the last one closed folds it back in).
    queued = b"".join(path.read_bytes() for path in sorted(tmp_path.glob("mail.db*")))
    await mail.outbox.deliver_due()
    token = token_of(smtp_server.messages()[0])
    assert token.encode() not in queued
    async with engine.connect() as conn:
        assert (await conn.execute(select(mail_tokens.c.digest))).scalar_one() == digest(token)
        assert (await conn.execute(select(mail_outbox.c.payload))).scalar_one() is None  # dropped once sent


async def test_two_nodes_never_send_one_mail_twice(
        engine: AsyncEngine, smtp_server: SmtpServer, clock: list[float]) -> None:
    one, two = mailer(engine, smtp_server.url, clock), mailer(engine, smtp_server.url, clock)
    for n in range(12):
        await one.send_link(link(to=f"user{n}@example.test"))
    sent = await asyncio.gather(one.outbox.deliver_due(), two.outbox.deliver_due(), one.outbox.deliver_due())
    assert sum(sent) == 12
    recipients = [m["To"] for m in smtp_server.messages()]
    assert sorted(recipients) == sorted(f"user{n}@example.test" for n in range(12))


async def test_mail_waits_while_the_server_is_down_and_goes_out_once_it_is_back(
        engine: AsyncEngine, smtp_server: SmtpServer, clock: list[float]) -> None:
    mail = mailer(engine, smtp_server.url, clock)
    smtp_server.kill()
    await mail.send_link(link())
    assert await mail.outbox.deliver_due() == 0
    clock[0] += 1.5
    assert await mail.outbox.deliver_due() == 0  # the second attempt
    async with engine.connect() as conn:
        row = (await conn.execute(select(mail_outbox))).one()
    assert row.state == "pending" and row.attempts == 2 and row.due_at == clock[0] + 2  # backoff doubles
    assert await mail.outbox.deliver_due() == 0  # not due yet: no attempt
    smtp_server.start()
    clock[0] += 2
    assert await mail.outbox.deliver_due() == 1
    clock[0] += 60
    assert await mail.outbox.deliver_due() == 0
    assert len(smtp_server.messages()) == 1


async def test_a_mail_whose_link_died_undelivered_is_dropped(
        engine: AsyncEngine, smtp_server: SmtpServer, clock: list[float]) -> None:
    mail = mailer(engine, smtp_server.url, clock, token_ttl=60)
    smtp_server.kill()
    await mail.send_link(link())
    await mail.outbox.deliver_due()
    smtp_server.start()
    clock[0] += 61
    assert await mail.outbox.deliver_due() == 0
    assert smtp_server.messages() == []


async def test_starttls_and_auth_on_a_self_signed_certificate(
        engine: AsyncEngine, tmp_path: Path, clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer(tmp_path / "tls", tls=True, user="mailer", password="s3cret pass") as server:
        assert server.certificate is not None
        monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))
        mail = mailer(engine, server.url.replace("s3cret pass", "s3cret%20pass"), clock)
        await mail.send_link(link("verify"))
        assert await mail.outbox.deliver_due() == 1
        assert server.messages()[0]["Subject"] == "Confirm your email address"
        wrong = mailer(engine, server.url.replace("s3cret pass", "wrong"), clock)
        await wrong.send_link(link("verify"))
        assert await wrong.outbox.deliver_due() == 0  # refused login: kept for a retry
        assert len(server.messages()) == 1


async def test_starttls_refuses_an_untrusted_certificate(
        engine: AsyncEngine, tmp_path: Path, clock: list[float]) -> None:
    with SmtpServer(tmp_path / "tls", tls=True) as server:
        mail = mailer(engine, server.url, clock)
        await mail.send_link(link())
        assert await mail.outbox.deliver_due() == 0
        assert server.messages() == []


async def test_log_sends_write_the_mail_to_the_log_for_development(
        engine: AsyncEngine, clock: list[float], caplog: pytest.LogCaptureFixture) -> None:
    mail = mailer(engine, "log://", clock)
    with caplog.at_level(logging.INFO, logger="passgate.mail"):
        await mail.send_link(link())
        assert await mail.outbox.deliver_due() == 1
    (line,) = [r.getMessage() for r in caplog.records if "to ann@example.test" in r.getMessage()]
    assert "development only" in line and "https://board.example/reset?token=" in line


async def test_a_token_works_once_and_only_within_its_lifetime(
        engine: AsyncEngine, clock: list[float]) -> None:
    mail = mailer(engine, "log://", clock, token_ttl=60)
    tokens = []
    for _ in range(2):
        await mail.send_link(link())
    async with engine.connect() as conn:
        assert len((await conn.execute(select(mail_tokens))).all()) == 2
    for message in await _logged(mail):
        tokens.append(message)
    first, second = tokens
    assert (await mail.spend("reset", first)).email_key == "ann@example.test"
    with pytest.raises(MailTokenInvalid) as spent:
        await mail.spend("reset", first)
    assert type(spent.value) is MailTokenInvalid
    with pytest.raises(MailTokenInvalid):
        await mail.spend("verify", second)  # a reset token is no verification token
    clock[0] += 61
    with pytest.raises(MailTokenExpired):
        await mail.spend("reset", second)
    with pytest.raises(MailTokenInvalid):
        await mail.spend("reset", "not a token")


async def _logged(mail: Mailer) -> list[str]:
    """The tokens in the mails that ``mail`` (a log:// mailer) delivers now."""
    found: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "?token=" in message:
                found.append(message.split("?token=", 1)[1].split()[0])

    handler = Catch()
    logger = logging.getLogger("passgate.mail")
    logger.addHandler(handler)
    try:
        await mail.outbox.deliver_due()
    finally:
        logger.removeHandler(handler)
    return found


async def test_no_mail_server_means_mail_unavailable(engine: AsyncEngine, clock: list[float]) -> None:
    mail = Mailer(engine, None, SECRET, clock=lambda: clock[0])
    with pytest.raises(MailUnavailable):
        await mail.send_link(link())
