"""Mail through an SMTP server (aiosmtplib): ``smtp://`` (plain), ``smtp+starttls://`` (STARTTLS
required) or ``smtps://`` (implicit TLS), with ``USER:PASS@`` for AUTH.  Certificates are
verified against the system's trust store (``SSL_CERT_FILE`` names another)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from passgate.errors import ConfigError
from passgate.mail.base import DeliveryFailed

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT = 30.0


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    tls: str  # "none", "starttls" or "implicit"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SmtpSender:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConfigError("an SMTP URL is smtp://, smtp+starttls:// or smtps://[USER:PASS@]HOST[:PORT]")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise ConfigError("the SMTP URL's port is not a number") from None
        tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "implicit"}[parts.scheme]
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, tls, user, password)

    @property
    def description(self) -> str:
        scheme = {"none": "smtp", "starttls": "smtp+starttls", "implicit": "smtps"}[self.tls]
        return f"{scheme}://{self.host}:{self.port}" + (" (with AUTH)" if self.username else "")

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.username, password=self.password,
                use_tls=self.tls == "implicit", start_tls=self.tls == "starttls", timeout=self.timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"the SMTP server refused the login ({exc.code})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"the SMTP server answered {exc.code}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"the SMTP server is unreachable ({type(exc).__name__})") from exc
