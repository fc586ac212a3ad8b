"""``--smtp-url log://``: every mail is written to the log (``passgate.mail``, WARNING), links and
all, instead of being sent.  For development only (``make run`` uses it so the mail flows work
out of the box): the log then holds working reset links, which is its whole purpose."""

from __future__ import annotations

import logging
from email.message import EmailMessage

log = logging.getLogger("passgate.mail")


class LogSender:
    description = "log:// (mail is written to the log, links included: for development only)"

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        log.warning("mail (log://, development only) to %s: %s\n%s", message["To"], message["Subject"], text)
