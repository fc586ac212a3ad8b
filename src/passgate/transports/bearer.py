"""``Authorization: Bearer <token>`` (RFC 6750)."""

from __future__ import annotations

from passgate.errors import MalformedRequest, TokenInvalid
from passgate.transports.base import RequestHead

#: Longer than any token passgate issues, with room; anything larger is refused unparsed.
MAX_TOKEN = 4096
REALM = "passgate"


class BearerTransport:
    scheme = "Bearer"

    def read(self, head: RequestHead) -> str | None:
        """The token from the ``Authorization`` header, None when there is none.

        More than one header is a malformed request; another scheme or a malformed token is
        an invalid credential (the request is still judged by this header alone).
        """
        values = head.authorization
        if not values:
            return None
        if len(values) > 1:
            raise MalformedRequest("more than one Authorization header")
        scheme, _, token = values[0].strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer":
            raise TokenInvalid("only Bearer authorization is accepted")
        if not token or len(token) > MAX_TOKEN:
            raise TokenInvalid("malformed bearer token")
        # Its syntax is the codec's to judge (three strict base64url segments, stricter than
        # RFC 6750's b64token), once: a token found in the verified-token cache passed it before.
        return token

    def challenge(self, error: str | None = None, description: str | None = None) -> str:
        """A ``WWW-Authenticate`` value (RFC 6750 §3)."""
        parts = [f'realm="{REALM}"']
        if error:
            parts.append(f'error="{error}"')
        if description:
            safe = description.replace('"', "'").replace("\\", "")
            parts.append(f'error_description="{safe}"')
        return f"{self.scheme} " + ", ".join(parts)
