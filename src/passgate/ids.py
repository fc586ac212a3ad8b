"""Public ids: of users, logins and signing keys."""

from __future__ import annotations

import secrets


def new_id(nbytes: int = 16) -> str:
    """A public, unguessable id of ``nbytes`` random bytes, base64url.

    Drawn again when it would start with ``-``, so that an administrator can pass it to the CLI
    as it is printed, without its being read as an option (this costs 0.02 bits).
    """
    while (value := secrets.token_urlsafe(nbytes)).startswith("-"):
        pass
    return value
