"""The mail settings: URLs checked at construction, and a password in one never printed."""

from __future__ import annotations

import pytest

from passgate.config import load_settings
from passgate.errors import ConfigError
from passgate.mail.log import LogSender
from passgate.mail.smtp import SmtpSender
from passgate.root import _mail_options, open_sender


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example:2525", SmtpSender("mail.example", 2525, "none")),
    ("smtp+starttls://ann:p%40ss@mail.example", SmtpSender("mail.example", 587, "starttls", "ann", "p@ss")),
    ("smtps://mail.example", SmtpSender("mail.example", 465, "implicit")),
])
def test_smtp_urls(url: str, expected: SmtpSender) -> None:
    assert open_sender(load_settings(env=False, smtp_url=url).smtp_url.get_secret_value()) == expected  # type: ignore[union-attr]


def test_log_and_none() -> None:
    assert isinstance(open_sender("log://"), LogSender)
    assert load_settings(env=False, smtp_url="none").smtp_url is None


@pytest.mark.parametrize("url", ["http://ann:hunter22@mail.example", "smtp://ann:hunter22@mail.example/path", "log"])
def test_a_bad_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(env=False, smtp_url=url)
    assert "hunter22" not in str(refused.value)


def test_the_password_never_prints() -> None:
    settings = load_settings(env=False, smtp_url="smtps://ann:hunter22@mail.example")
    assert "hunter22" not in repr(settings) and "hunter22" not in str(settings)
    sender = open_sender(settings.smtp_url.get_secret_value())  # type: ignore[union-attr]
    assert "hunter22" not in repr(sender) and "hunter22" not in sender.description  # type: ignore[union-attr]


def test_the_sender_is_the_public_host_or_localhost() -> None:
    assert _mail_options(load_settings(env=False)).sender_address == "passgate@localhost"
    public = load_settings(env=False, public_url="https://board.example")
    assert _mail_options(public).sender_address == "passgate@board.example"
    given = load_settings(env=False, mail_from="noreply@example.org", mail_token_ttl="1h")
    assert _mail_options(given).sender_address == "noreply@example.org" and _mail_options(given).token_ttl == 3600
    with pytest.raises(ConfigError):
        load_settings(env=False, mail_from="not an address")
