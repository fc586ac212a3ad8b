"""Second factors over accounts: turning TOTP on and off, and a login's second step.  No web I/O here.

With a factor on, the right password yields no credential: :meth:`SecondFactors.login` answers
:class:`~passgate.errors.MfaRequired` with a single-use ``mfa_token``
(:mod:`passgate.credentials.challenges`), and :meth:`SecondFactors.finish` trades it and a code
(TOTP or recovery) for the user, and the method that names the login in the device list.  A wrong
code counts under the login limit like a wrong password, and leaves the token for another try; a
right one spends the token first, then the code, so that a code is never spent for nothing.

Passkeys (:mod:`passgate.passkeys`) are not a second step: a passkey login counts as both factors.
The admin's :meth:`SecondFactors.reset` removes them with the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NoReturn

from passgate import audit
from passgate.accounts import Accounts
from passgate.credentials.challenges import MfaChallenges, Purpose, hash_digest
from passgate.credentials.logins import LoginRepository
from passgate.errors import (
    Forbidden,
    InvalidCode,
    InvalidDpopProof,
    MfaRequired,
    MfaTokenInvalid,
    NotFound,
    ValidationFailed,
    WrongCode,
)
from passgate.identity.passkeys import PasskeyRepository
from passgate.identity.totp import TotpRepository, new_recovery_codes, new_secret, provisioning_uri
from passgate.identity.users import User, UserRepository

__all__ = ["Enrolment", "SecondFactors"]

#: How a code was accepted, as a login's method names it.
Factor = Literal["totp", "recovery_code"]
#: The longest code looked at (a recovery code with spaces and dashes is under 30 characters).
MAX_CODE = 64


@dataclass(frozen=True)
class Enrolment:
    """A pending TOTP: shown to the user once, on only when a first code confirms it."""

    secret: str
    otpauth_uri: str

    def __repr__(self) -> str:
        return "Enrolment(...)"


def _check_code(code: str) -> None:
    if len(code) > MAX_CODE:
        raise ValidationFailed(f"code: at most {MAX_CODE} characters")


@dataclass
class SecondFactors:
    accounts: Accounts
    totp: TotpRepository
    challenges: MfaChallenges
    users: UserRepository
    logins: LoginRepository
    clock: Callable[[], float] = time.time
    #: The accounts' passkeys: the admin's reset removes them too.
    passkeys: PasskeyRepository | None = None

    async def methods(self, user_id: str) -> tuple[str, ...]:
        """The second factors the account has on (empty: the password is enough)."""
        if not await self.totp.enabled(user_id):
            return ()
        return ("totp", "recovery_code") if await self.totp.recovery_left(user_id) else ("totp",)

    # -- a login's steps ------------------------------------------------------------------

    async def login(self, username: str, password: str, ip: str, *, purpose: Purpose, jkt: str = "",
                    device_cookie: str | None = None) -> User:
        """The user whose password this is, if it is all the account needs; MfaRequired (with a fresh
        ``mfa_token``) when a second factor is on; InvalidCredentials or RateLimited as for any login
        (``device_cookie``: see :meth:`Accounts.authenticate`)."""
        user = await self.accounts.authenticate(username, password, ip, device_cookie=device_cookie)
        methods = await self.methods(user.id)
        if methods:
            token = await self.challenges.issue(user.id, purpose, jkt=jkt, password_hash=user.password_hash)
            raise MfaRequired(token, methods)
        return user

    async def finish(self, mfa_token: str, code: str, ip: str, *, purpose: Purpose,
                     jkt: str = "") -> tuple[User, str]:
        """The user of ``mfa_token``, if ``code`` is one of their second factor's, and the login's method
        (``password+totp``, ``password+recovery_code``).  MfaTokenInvalid, InvalidCode (counted under
        the login limit), RateLimited."""
        _check_code(code)
        challenge = await self.challenges.find(mfa_token, purpose)
        user = await self.users.get(challenge.user_id)
        if user is None or challenge.password != hash_digest(user.password_hash):
            raise MfaTokenInvalid("mfa_token: the account is gone, or its password changed")
        await self.accounts.check_limit(user.username, ip)
        if challenge.jkt and challenge.jkt != jkt:
            raise InvalidDpopProof("the second step's proof is by another key than the login's", token_request=True)
        factor = await self._matches(user.id, code)
        if factor is None:
            await self._failed(user, ip, "wrong_code")
        if not await self.challenges.spend(mfa_token):
            raise MfaTokenInvalid("mfa_token: spent by a concurrent request")
        if not await self._spend(user.id, code, factor):
            await self._failed(user, ip, "code_used")
        if factor == "recovery_code":
            audit.event("mfa_recovery_code_used", user_id=user.id, left=await self.totp.recovery_left(user.id))
        return user, f"password+{factor}"

    async def _failed(self, user: User, ip: str, reason: str) -> NoReturn:
        audit.event("mfa_failed", user_id=user.id, reason=reason)
        await self.accounts.count_failure(user.username, ip)
        raise InvalidCode("the code is wrong, or was used already")

    async def _matches(self, user_id: str, code: str) -> Factor | None:
        """Which factor ``code`` is a live code of (not spent yet), or None."""
        state = await self.totp.get(user_id)
        if state is None or not state.enabled:
            return None
        step = state.matching_step(code, self.clock())
        if step is not None:
            return "totp" if step > state.last_step else None
        return "recovery_code" if await self.totp.has_recovery(user_id, code) else None

    async def _spend(self, user_id: str, code: str, factor: Factor | None) -> bool:
        """Spend the code (its time step, or the recovery code); True for the one request that did."""
        if factor == "totp":
            state = await self.totp.get(user_id)
            step = state.matching_step(code, self.clock()) if state else None
            return step is not None and await self.totp.take_step(user_id, step, enabled=True)
        return factor == "recovery_code" and await self.totp.spend_recovery(user_id, code)

    # -- turning TOTP on and off ----------------------------------------------------------

    async def enrol(self, user_id: str, password: str, ip: str, *, issuer: str) -> Enrolment:
        """A new pending TOTP secret (the password re-checked under the login limit); Forbidden while
        TOTP is on."""
        user = await self.accounts.confirm(user_id, password, ip)
        secret = new_secret()
        if not await self.totp.set_pending(user.id, secret):
            raise Forbidden("two-step login is on already; turn it off first")
        return Enrolment(secret, provisioning_uri(secret, account=user.username, issuer=issuer))

    async def pending(self, user_id: str, *, issuer: str) -> Enrolment | None:
        """The account's TOTP enrolment that waits for its first code (None: none, or TOTP is on)."""
        state = await self.totp.get(user_id)
        user = await self.users.get(user_id) if state is not None and not state.enabled else None
        if state is None or user is None:
            return None
        return Enrolment(state.secret, provisioning_uri(state.secret, account=user.username, issuer=issuer))

    async def confirm(self, user_id: str, code: str) -> list[str]:
        """Turn the pending TOTP on with its first code; the ten recovery codes, shown this once."""
        _check_code(code)
        state = await self.totp.get(user_id)
        if state is None or state.enabled:
            raise NotFound("no two-step login waits for its first code; start again")
        step = state.matching_step(code, self.clock())
        codes = new_recovery_codes()
        if step is None or not await self.totp.enable(user_id, step, codes):
            raise WrongCode("the code is wrong, or was used already")
        audit.event("mfa_enabled", user_id=user_id, method="totp")
        return codes

    async def disable(self, user_id: str, password: str, code: str, ip: str) -> None:
        """Turn TOTP off, behind the password and a code (either counted under the login limit)."""
        _check_code(code)
        user = await self.accounts.confirm(user_id, password, ip)
        if not await self.totp.enabled(user.id):
            raise NotFound("two-step login is not on")
        factor = await self._matches(user.id, code)
        if not await self._spend(user.id, code, factor):
            audit.event("mfa_failed", user_id=user.id, reason="wrong_code", at="disable")
            await self.accounts.count_failure(user.username, ip)
            raise WrongCode("the code is wrong, or was used already")
        await self.totp.remove(user.id)
        audit.event("mfa_disabled", user_id=user.id, method="totp", by="user")

    async def reset(self, username: str) -> tuple[bool, int]:
        """The admin's reset: every factor of the user off (TOTP, recovery codes, passkeys) and every
        login ended; whether one was on, and the count ended."""
        user = await self.users.find(username)
        if user is None:
            raise NotFound("no such user")
        removed = await self.totp.remove(user.id)
        passkeys = await self.passkeys.remove_all(user.id) if self.passkeys is not None else 0
        revoked = await self.logins.revoke_all(user.id)
        audit.event("mfa_reset", user_id=user.id, removed=removed, passkeys=passkeys, revoked=revoked, by="admin")
        return removed or passkeys > 0, revoked
