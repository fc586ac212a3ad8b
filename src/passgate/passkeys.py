"""Passkeys over accounts: adding one (a WebAuthn registration) and logging in with one.  No web I/O here.

A passkey login names no account and sends no password: the authenticator picks a discoverable
credential of this relying party, verifies its user (biometrics or PIN) and signs the challenge.
It counts as both factors (it is something held, unlocked by something known or are), so an
account with TOTP on logs in with its passkey without a code.  With a passkey but no TOTP, the
password alone still logs in: a passkey is another way in, not a second step of the password's.

What is checked, with `py_webauthn <https://github.com/duo-labs/py_webauthn>`_ doing the
WebAuthn Level 3 verification (client data, authenticator data, COSE keys, attestation formats):
the challenge is one this deployment issued for this ceremony and site, and is spent on first use
(:class:`~passgate.credentials.challenges.WebauthnChallenges`); the origin and relying party id are
this site's; the user was verified (UV); the credential is discoverable (it returns the user handle,
which must be its account's); the signature is by the passkey's key; the sign counter grew (when the
authenticator keeps one), taken by one conditional write so that a cloned authenticator is refused.
A failed passkey login counts under the login limit of the client address.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from webauthn.helpers import (
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CollectedClientData,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from passgate import audit
from passgate.credentials.challenges import Ceremony, WebauthnChallenges
from passgate.credentials.ratelimit import LoginLimiter
from passgate.errors import AccountDisabled, Forbidden, NotFound, ValidationFailed, WebauthnFailed
from passgate.identity.passkeys import MAX_NAME, Passkey, PasskeyRepository
from passgate.identity.states import AccountStates
from passgate.identity.users import User, UserRepository
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)

__all__ = ["MAX_PASSKEYS", "Passkeys", "RelyingParty"]

#: Passkeys one account may keep (each is a row, and a login's lookup): enough for every device.
MAX_PASSKEYS = 20
T = TypeVar("T")


@dataclass(frozen=True)
class RelyingParty:
    """The site a ceremony is for: its WebAuthn relying party id (the host), its origin, and the
    name authenticators show."""

    id: str
    origin: str
    name: str


def user_handle(user_id: str) -> bytes:
    """The WebAuthn user handle of an account: its opaque id (at most 64 bytes; a longer id, its SHA-256)."""
    raw = user_id.encode()
    return raw if len(raw) <= 64 else hashlib.sha256(raw).digest()


def _reason(exc: BaseException) -> str:
    """A refusal's reason for the log: printable, bounded (it may quote what the client sent)."""
    return f"{type(exc).__name__}: {exc}".encode("unicode_escape").decode("ascii")[:200]


def _checked(parse: Callable[[], T], *, registration: bool) -> T:
    """What ``parse`` makes of a client's WebAuthn data; WebauthnFailed for anything it refuses.

    Its parsers and verifiers raise their own exceptions and, on data they did not foresee, those
    of CBOR, base64, ``struct`` and ``cryptography``: all of them are a refused passkey, never a 500.
    """
    try:
        return parse()
    except Exception as exc:
        raise WebauthnFailed(_reason(exc), registration=registration) from exc


def _client_data(raw: bytes, *, registration: bool) -> CollectedClientData:
    client = _checked(lambda: parse_client_data_json(raw), registration=registration)
    if client.cross_origin:  # the board is never framed: a ceremony run inside another site's frame is not ours
        raise WebauthnFailed("client data: cross-origin", registration=registration)
    return client


def check_name(name: str) -> str:
    """A passkey's name as its owner typed it: at most 64 characters, no control or format characters."""
    name = name.strip() or "Passkey"
    if len(name) > MAX_NAME or any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
        raise ValidationFailed(f"name: 1 to {MAX_NAME} characters, none of them control characters")
    return name


@dataclass
class Passkeys:
    repository: PasskeyRepository
    challenges: WebauthnChallenges
    users: UserRepository
    limiter: LoginLimiter
    #: What administrators decided: a disabled account's passkeys log in no more.
    states: AccountStates | None = None

    # -- adding and removing ---------------------------------------------------------------

    async def registration_options(self, user_id: str, username: str, rp: RelyingParty) -> dict[str, Any]:
        """``PublicKeyCredentialCreationOptions`` in their JSON form (``{"publicKey": …}``): a
        discoverable credential, user verification required, the account's passkeys excluded."""
        existing = await self.repository.list(user_id)
        if len(existing) >= MAX_PASSKEYS:
            raise Forbidden(f"at most {MAX_PASSKEYS} passkeys; remove one first")
        challenge = await self.challenges.issue("register", rp_id=rp.id, origin=rp.origin, user_id=user_id)
        options = generate_registration_options(
            rp_id=rp.id, rp_name=rp.name, user_name=username, user_id=user_handle(user_id), challenge=challenge,
            timeout=int(self.challenges.ttl * 1000), attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[_descriptor(p) for p in existing],
        )
        public_key = options_to_json_dict(options)
        public_key["extensions"] = {"credProps": True}  # the browser tells whether the key is discoverable
        return {"publicKey": public_key}

    async def register(self, user_id: str, credential: dict[str, Any], name: str, rp: RelyingParty) -> Passkey:
        """Add the passkey that ``credential`` (``PublicKeyCredential.toJSON()``) created for the
        options of :meth:`registration_options`; WebauthnFailed (400) when it is refused."""
        name = check_name(name)
        parsed = _checked(lambda: parse_registration_credential_json(credential), registration=True)
        client = _client_data(parsed.response.client_data_json, registration=True)
        if await self._take(client.challenge, "register", rp) != user_id:
            raise WebauthnFailed("challenge: issued to another account", registration=True)
        verified = _checked(lambda: verify_registration_response(
            credential=parsed, expected_challenge=client.challenge, expected_rp_id=rp.id, expected_origin=rp.origin,
            require_user_verification=True), registration=True)
        properties = (credential.get("clientExtensionResults") or {}).get("credProps")
        if isinstance(properties, dict) and properties.get("rk") is False:
            raise WebauthnFailed("not a discoverable credential", registration=True,
                                 detail="this authenticator cannot keep a passkey (a discoverable credential)")
        passkey = await self.repository.add(
            user_id, credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key, sign_count=verified.sign_count,
            transports=tuple(t.value for t in parsed.response.transports or ()), name=name)
        audit.event("passkey_added", user_id=user_id, passkey_id=passkey.id, aaguid=verified.aaguid)
        return passkey

    async def owned(self, user_id: str) -> list[Passkey]:
        """The account's passkeys, oldest first."""
        return await self.repository.list(user_id)

    async def remove(self, user_id: str, passkey_id: str, *, by: str = "user") -> Passkey:
        """Remove one of the account's passkeys; NotFound when it is not theirs."""
        gone = await self.repository.remove(user_id, passkey_id)
        if gone is None:
            raise NotFound("no such passkey")
        audit.event("passkey_removed", user_id=user_id, passkey_id=gone.id, by=by)
        return gone

    # -- logging in ------------------------------------------------------------------------

    async def login_options(self, rp: RelyingParty, ip: str) -> dict[str, Any]:
        """``PublicKeyCredentialRequestOptions`` in their JSON form, for any discoverable credential
        of this site (no account named), user verification required."""
        await self.limiter.check_address(ip)
        challenge = await self.challenges.issue("login", rp_id=rp.id, origin=rp.origin)
        options = generate_authentication_options(
            rp_id=rp.id, challenge=challenge, timeout=int(self.challenges.ttl * 1000), allow_credentials=[],
            user_verification=UserVerificationRequirement.REQUIRED)
        return {"publicKey": options_to_json_dict(options)}

    async def login(self, credential: dict[str, Any], rp: RelyingParty, ip: str) -> User:
        """The account whose passkey signed ``credential`` (``PublicKeyCredential.toJSON()`` of an
        assertion); WebauthnFailed (counted under the address's login limit), RateLimited."""
        await self.limiter.check_address(ip)
        found: list[Passkey] = []
        try:
            user, passkey = await self._verify(credential, rp, found)
        except WebauthnFailed as exc:
            await self._failed(exc, ip, found[0] if found else None)
        if self.states is not None and await self.states.disabled(user.id):
            raise AccountDisabled("this account is disabled")  # told only to the passkey's holder, as for a password
        audit.event("passkey_login", user_id=user.id, passkey_id=passkey.id)
        return user

    async def _verify(self, credential: dict[str, Any], rp: RelyingParty, found: list[Passkey]) -> tuple[User, Passkey]:
        parsed = _checked(lambda: parse_authentication_credential_json(credential), registration=False)
        client = _client_data(parsed.response.client_data_json, registration=False)
        await self._take(client.challenge, "login", rp)
        passkey = await self.repository.find(bytes_to_base64url(parsed.raw_id))
        if passkey is None:
            raise WebauthnFailed("unknown or removed passkey")
        found.append(passkey)
        handle = parsed.response.user_handle
        if handle is None or not hmac.compare_digest(handle, user_handle(passkey.user_id)):
            raise WebauthnFailed("user handle missing (not a discoverable credential) or another account's")
        verified = _checked(lambda: verify_authentication_response(
            credential=parsed, expected_challenge=client.challenge, expected_rp_id=rp.id, expected_origin=rp.origin,
            credential_public_key=passkey.public_key, credential_current_sign_count=passkey.sign_count,
            require_user_verification=True), registration=False)
        user = await self.users.get(passkey.user_id)
        if user is None:
            raise WebauthnFailed("the account is gone")
        if not await self.repository.use(passkey.id, verified.new_sign_count):
            raise WebauthnFailed("sign counter did not grow (a cloned authenticator, or a concurrent login)")
        return user, passkey

    async def _take(self, challenge: bytes, ceremony: Ceremony, rp: RelyingParty) -> str:
        """Spend the challenge, issued for ``ceremony`` at this site; the account it was issued to."""
        found = await self.challenges.take(challenge, ceremony)
        if (found.rp_id, found.origin) != (rp.id, rp.origin):
            raise WebauthnFailed("challenge: issued for another site", registration=ceremony == "register")
        return found.user_id

    async def _failed(self, exc: WebauthnFailed, ip: str, passkey: Passkey | None) -> NoReturn:
        audit.event("passkey_login_failed", user_id=passkey.user_id if passkey else "",
                    passkey_id=passkey.id if passkey else None, reason=exc.reason)
        await self.limiter.failed_address(ip)
        raise exc

    async def reset(self, user_id: str) -> int:
        """Remove every passkey of the account (the admin's reset, the account's deletion); how many."""
        return await self.repository.remove_all(user_id)


_TRANSPORTS = {t.value: t for t in AuthenticatorTransport}


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = [_TRANSPORTS[t] for t in passkey.transports if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id), transports=transports or None)
