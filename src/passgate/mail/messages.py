"""The mails passgate sends, from templates: a plain-text and an HTML part each."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

SUBJECTS = {
    "verify": "Confirm your email address",
    "reset": "Reset your password",
}
#: Where each kind of mail's link leads, under the deployment's public URL.
PATHS = {"verify": "/verify", "reset": "/reset"}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]), undefined=StrictUndefined, keep_trailing_newline=True,
)


def compose(kind: str, *, mail_id: str, sender: str, recipient: str, context: dict[str, Any]) -> EmailMessage:
    """The mail of ``kind`` (a key of :data:`SUBJECTS`); its Message-ID is the outbox row's, so
    that a receiving system can tell a resent copy from a new mail."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = SUBJECTS[kind]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = Address(addr_spec=sender).domain if "@" in sender else "passgate"
    message["Message-ID"] = f"<{mail_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_templates.get_template(f"{kind}.txt").render(**context))
    message.add_alternative(_templates.get_template(f"{kind}.html").render(**context), subtype="html")
    return message
