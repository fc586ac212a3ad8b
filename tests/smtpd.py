"""A real SMTP server for the tests, as its own process (aiosmtpd): every mail it takes is saved as
one ``.eml`` file in ``--dir`` (written aside, then renamed, so a reader never sees half a mail).

    python -m tests.smtpd --port P --dir D [--cert C --key K] [--user U --password W]

With ``--cert`` it offers STARTTLS and requires it; with ``--user`` it requires AUTH (after TLS).
It runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SaveEach:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        aside = self.directory / f".{name}"
        aside.write_bytes(envelope.original_content or envelope.content)
        os.rename(aside, self.directory / name)
        return "250 OK"


def _authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        options |= {"tls_context": context, "require_starttls": True}
    if args.user:
        options |= {"authenticator": _authenticator(args.user, args.password), "auth_required": True,
                    "auth_require_tls": bool(args.cert)}
    controller = Controller(SaveEach(args.dir), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
