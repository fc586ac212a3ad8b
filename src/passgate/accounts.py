"""Account flows over users, logins and mail: register, check a password under the login limit,
change the password, delete the account, set and verify the address, reset a forgotten password
by mail.  No web I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from passgate import audit
from passgate.credentials.device_cookies import DeviceCookies
from passgate.credentials.logins import LoginRepository
from passgate.credentials.ratelimit import LoginLimiter
from passgate.errors import AccountDisabled, Forbidden, InvalidCredentials, MailTokenInvalid, NotFound, WrongPassword
from passgate.hooks import Hooks, decide, observe
from passgate.identity.emails import Email, EmailRepository, check_email, email_key
from passgate.identity.names import check_password, check_username, username_key
from passgate.identity.passkeys import PasskeyRepository
from passgate.identity.passwords import PasswordHasher
from passgate.identity.states import AccountStates
from passgate.identity.totp import TotpRepository
from passgate.identity.users import User, UserRepository
from passgate.mail.limits import MailLimiter
from passgate.mail.mailer import Link, Mailer


@dataclass
class Accounts:
    users: UserRepository
    hasher: PasswordHasher
    limiter: LoginLimiter
    logins: LoginRepository
    emails: EmailRepository
    mailer: Mailer
    mail_limiter: MailLimiter
    #: The device cookies that exempt a client from the account's lockout (OWASP's device cookies).
    devices: DeviceCookies
    #: What administrators decided about accounts (disabled).
    states: AccountStates
    #: The accounts' second factors (turned off with the account).
    totp: TotpRepository | None = None
    #: The application's hooks around these flows.
    hooks: Hooks = field(default_factory=Hooks)
    #: The accounts' passkeys (removed with the account).
    passkeys: PasskeyRepository | None = None

    async def register(self, username: str, password: str, *, email: str | None = None,
                       base_url: str = "", fields: Mapping[str, Any] | None = None) -> User:
        """A new account; with ``email``, its address (unverified) and the verification mail queued;
        ``fields``: the registration's extra fields, for the user repository (an application's model)."""
        name = check_username(username)
        check_password(password)
        address = None if email is None else check_email(email)
        await decide(self.hooks.before_register(name, address), "before_register")
        if address is not None:  # before the account exists: no half-made registration
            self.mailer.check_available()
            await self.mail_limiter.count(address=email_key(address), account="new:" + email_key(address))
        user = await self.users.create(name, await self.hasher.hash(password), **(fields or {}))
        if address is not None:
            await self._mail_verification(user, address, base_url, counted=True)
        await observe(self.hooks.after_register(user), "after_register")
        return user

    async def authenticate(self, username: str, password: str, ip: str, *, device_cookie: str | None = None) -> User:
        """The user whose password this is; InvalidCredentials (same work, same answer) otherwise.

        ``device_cookie`` is the one the client sent (:attr:`devices`): a live one of this account
        holds the attempt to the cookie's own count rather than the account's, which strangers can
        fill.  The address's count holds either way.
        """
        account = username_key(username)
        if device_cookie is None:
            await self.limiter.check(account, ip)  # before the lookup: a locked account's guesses cost none
            user, device = await self.users.find(username), None
        else:
            user = await self.users.find(username)
            device = self.devices.device(device_cookie, user.id, user.password_hash) if user is not None else None
            await self.limiter.check(account, ip, device=device)
        try:
            return await self._enabled(await self._verify(user, account, password, ip, device))
        except InvalidCredentials:
            await observe(self.hooks.after_failed_login(username, ip), "after_failed_login")
            raise

    async def _enabled(self, user: User) -> User:
        """``user``, unless an administrator disabled the account (AccountDisabled, told only to a
        caller who knew the password)."""
        if await self.states.disabled(user.id):
            raise AccountDisabled("this account is disabled")
        return user

    async def _verify(self, user: User | None, account: str, password: str, ip: str, device: str | None) -> User:
        """The password checked, once the counts have been (``device``: the count that stands for the account's)."""
        verdict = await self.hasher.verify(user.password_hash if user else None, password)
        if user is None or not verdict.ok:
            await self.limiter.failed(account, ip, device=device)
            raise InvalidCredentials("invalid username or password")
        await self.limiter.check(account, ip, device=device)  # failures answered while it was hashed count too
        if verdict.new_hash:
            await self.users.set_password_hash(user.id, verdict.new_hash)
            return replace(user, password_hash=verdict.new_hash)  # what a new login and device cookie bind to
        return user

    async def confirm(self, user_id: str, password: str, ip: str, *, login_id: str | None = None) -> User:
        """Re-check the caller's own password (WrongPassword, counted like a failed login).

        ``login_id``, the caller's login, is a client the user logged in from: it is held to its own
        count, not to the account's lockout that strangers can cause.
        """
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        account, device = username_key(user.username), None if login_id is None else "login:" + login_id
        try:
            await self.limiter.check(account, ip, device=device)
            return await self._verify(user, account, password, ip, device)
        except InvalidCredentials as exc:
            raise WrongPassword("the password is wrong") from exc

    async def change_password(self, user_id: str, current: str, new: str, *, keep: str | None, ip: str) -> int:
        check_password(new)
        user = await self.confirm(user_id, current, ip, login_id=keep)
        await self.users.set_password_hash(user.id, await self.hasher.hash(new))
        await self.mailer.forget(user.id, "reset")  # a reset link mailed earlier must not undo this
        revoked = await self.logins.revoke_all(user.id, keep=keep)
        audit.event("password_changed", user_id=user.id, revoked=revoked)
        await observe(self.hooks.after_password_change(user.id, "user"), "after_password_change")
        return revoked

    async def reset_password(self, username: str, new: str) -> int:
        """The admin's reset: every login of the user ends."""
        check_password(new)
        user = await self.users.find(username)
        if user is None:
            raise NotFound("no such user")
        await self.users.set_password_hash(user.id, await self.hasher.hash(new))
        await self.mailer.forget(user.id, "reset")
        revoked = await self.logins.revoke_all(user.id)
        audit.event("password_reset", user_id=user.id, revoked=revoked, via="admin")
        await observe(self.hooks.after_password_change(user.id, "admin"), "after_password_change")
        return revoked

    async def delete(self, user: User) -> int:
        """The account and every login of it: those it had, then any that a login racing the
        deletion wrote (it finds the user gone, or this second sweep finds it)."""
        revoked = await self.logins.revoke_all(user.id)
        if not await self.users.delete(user.id):
            raise Forbidden("the account is already gone")
        revoked += await self.logins.revoke_all(user.id)
        await self.emails.forget(user.id)
        await self.mailer.forget(user.id)
        await self.states.forget(user.id)
        if self.totp is not None:
            await self.totp.remove(user.id)
        if self.passkeys is not None:
            await self.passkeys.remove_all(user.id)
        audit.event("account_deleted", user_id=user.id, revoked=revoked)
        await observe(self.hooks.after_account_deleted(user.id), "after_account_deleted")
        return revoked

    async def disable(self, username: str) -> int:
        """The admin's stop: the account is marked disabled, then every login of it ends on every
        node (a login racing this finds the mark and ends itself), and its reset links die.  It
        cannot log in, refresh or reset until :meth:`enable`.  The count of logins ended."""
        user = await self._named(username)
        await self.states.set_disabled(user.id, True)
        revoked = await self.logins.revoke_all(user.id)
        await self.mailer.forget(user.id, "reset")
        audit.event("account_disabled", user_id=user.id, revoked=revoked)
        return revoked

    async def enable(self, username: str) -> None:
        user = await self._named(username)
        await self.states.set_disabled(user.id, False)
        audit.event("account_enabled", user_id=user.id)

    async def grant_role(self, username: str, role: str) -> tuple[str, ...]:
        """Give the user ``role`` (the admin's); the roles they have now."""
        user = await self._named(username)
        if await self.states.grant(user.id, role):
            audit.event("role_granted", user_id=user.id, role=role)
        return await self.states.roles(user.id)

    async def revoke_role(self, username: str, role: str) -> tuple[str, ...]:
        """Take ``role`` from the user; the roles they have now.  ``require_role`` sees it at once; an
        access token's ``roles`` claim (``--roles-claim``) keeps it until the token expires."""
        user = await self._named(username)
        if await self.states.revoke(user.id, role):
            audit.event("role_revoked", user_id=user.id, role=role)
        return await self.states.roles(user.id)

    async def _named(self, username: str) -> User:
        user = await self.users.find(username)
        if user is None:
            raise NotFound("no such user")
        return user

    async def delete_confirmed(self, user_id: str, password: str, ip: str, *, login_id: str | None = None) -> int:
        return await self.delete(await self.confirm(user_id, password, ip, login_id=login_id))

    # -- the address, and resetting a forgotten password by mail ------------------------------

    async def _mail_verification(self, user: User, address: str, base_url: str, *, counted: bool = False) -> None:
        if not counted:
            await self.mail_limiter.count(address=email_key(address), account=user.id)
        await self.emails.set(user.id, address, verified=False)
        await self.mailer.send_link(Link("verify", address, user.id, email_key(address), user.username, base_url))

    async def set_email(self, user_id: str, email: str, password: str, *, ip: str, base_url: str,
                        login_id: str | None = None) -> Email:
        """Give the account a new address, unverified, and mail it a verification link (the
        password re-checked under the login limit).  The new address replaces the old one at once;
        reset mail goes only to a verified address.  The account's own verified address again: no change."""
        address = check_email(email)
        self.mailer.check_available()
        user = await self.confirm(user_id, password, ip, login_id=login_id)
        current = await self.emails.get(user.id)
        if current is not None and current.verified and email_key(current.address) == email_key(address):
            return current  # verified already: nothing to mail
        await self._mail_verification(user, address, base_url)
        return Email(user.id, address, verified=False)

    async def verify_email(self, token: str) -> Email:
        """Spend a verification link's token: the address it was mailed to is now verified
        (EmailTaken when another account verified it first; MailTokenInvalid when the account
        has changed its address since)."""
        spent = await self.mailer.spend("verify", token)
        current = await self.emails.get(spent.user_id)
        if current is None or email_key(current.address) != spent.email_key:
            raise MailTokenInvalid("the link is for an address this account no longer has")
        verified = await self.emails.set(spent.user_id, current.address, verified=True)
        audit.event("email_verified", user_id=spent.user_id)
        return verified

    async def forgot_password(self, email: str, *, base_url: str) -> None:
        """Mail a reset link to the account that has verified ``email``; for any other address the
        same work (the counts, the lookup, a transaction of the same shape) and no mail."""
        address = check_email(email)
        key = email_key(address)
        self.mailer.check_available()
        owner = await self.emails.find_verified(address)
        user = await self.users.get(owner.user_id if owner else "-")  # the same queries either way
        disabled = await self.states.disabled(user.id if user else "-")
        await self.mail_limiter.count(address=key, account=user.id if user else "address:" + key)
        if user is None or disabled:
            await self.mailer.send_nothing(key)
            return
        await self.mailer.send_link(Link("reset", owner.address if owner else address, user.id, key,
                                         user.username, base_url))
        audit.event("password_reset_requested", user_id=user.id)

    async def reset_forgotten(self, token: str, new: str) -> int:
        """Spend a reset link's token: the password is set, every login of the account ends, and
        every other reset link of it dies."""
        check_password(new)
        spent = await self.mailer.spend("reset", token)
        owner = await self.emails.find_verified(spent.email_key)
        if owner is None or owner.user_id != spent.user_id or await self.users.get(spent.user_id) is None:
            raise MailTokenInvalid("the link is for an address this account no longer has")
        if await self.states.disabled(spent.user_id):
            raise AccountDisabled("this account is disabled")
        await self.users.set_password_hash(spent.user_id, await self.hasher.hash(new))
        await self.mailer.forget(spent.user_id, "reset")
        revoked = await self.logins.revoke_all(spent.user_id)
        audit.event("password_reset", user_id=spent.user_id, revoked=revoked, via="mail")
        await observe(self.hooks.after_password_change(spent.user_id, "mail"), "after_password_change")
        return revoked

    async def set_verified_email(self, username: str, email: str) -> Email:
        """The admin's way: the address is set and verified at once (EmailTaken if another account has it)."""
        user = await self.users.find(username)
        if user is None:
            raise NotFound("no such user")
        verified = await self.emails.set(user.id, email, verified=True)
        audit.event("email_verified", user_id=user.id, by="admin")
        return verified

    # -- the login limit, for a login's later steps (a second factor) -------------------------

    async def check_limit(self, username: str, ip: str) -> None:
        """RateLimited while the login limit holds for the account or the address."""
        await self.limiter.check(username_key(username), ip)

    async def count_failure(self, username: str, ip: str) -> None:
        """Count a failed step of a login (a wrong second factor) like a wrong password."""
        await self.limiter.failed(username_key(username), ip)
