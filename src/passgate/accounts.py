"""Account flows over users and logins: register, check a password under the login limit,
change the password, delete the account.  No web I/O here."""

from __future__ import annotations

from dataclasses import dataclass

from passgate import audit
from passgate.credentials.logins import LoginRepository
from passgate.credentials.ratelimit import LoginLimiter
from passgate.errors import Forbidden, InvalidCredentials, NotFound, WrongPassword
from passgate.identity.names import check_password, check_username, username_key
from passgate.identity.passwords import PasswordHasher
from passgate.identity.users import User, UserRepository


@dataclass
class Accounts:
    users: UserRepository
    hasher: PasswordHasher
    limiter: LoginLimiter
    logins: LoginRepository

    async def register(self, username: str, password: str) -> User:
        name = check_username(username)
        check_password(password)
        return await self.users.create(name, await self.hasher.hash(password))

    async def authenticate(self, username: str, password: str, ip: str) -> User:
        """The user whose password this is; InvalidCredentials (same work, same answer) otherwise."""
        account = username_key(username)
        await self.limiter.check(account, ip)
        user = await self.users.find(username)
        verdict = await self.hasher.verify(user.password_hash if user else None, password)
        if user is None or not verdict.ok:
            await self.limiter.failed(account, ip)
            raise InvalidCredentials("invalid username or password")
        await self.limiter.check(account, ip)  # failures answered while this one was hashed count too
        if verdict.new_hash:
            await self.users.set_password_hash(user.id, verdict.new_hash)
        return user

    async def confirm(self, user_id: str, password: str, ip: str) -> User:
        """Re-check the caller's own password (WrongPassword, counted like a failed login)."""
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("no such user")
        try:
            return await self.authenticate(user.username, password, ip)
        except InvalidCredentials as exc:
            raise WrongPassword("the password is wrong") from exc

    async def change_password(self, user_id: str, current: str, new: str, *, keep: str | None, ip: str) -> int:
        check_password(new)
        user = await self.confirm(user_id, current, ip)
        await self.users.set_password_hash(user.id, await self.hasher.hash(new))
        revoked = await self.logins.revoke_all(user.id, keep=keep)
        audit.event("password_changed", user_id=user.id, revoked=revoked)
        return revoked

    async def reset_password(self, username: str, new: str) -> int:
        """The admin's reset: every login of the user ends."""
        check_password(new)
        user = await self.users.find(username)
        if user is None:
            raise NotFound("no such user")
        await self.users.set_password_hash(user.id, await self.hasher.hash(new))
        revoked = await self.logins.revoke_all(user.id)
        audit.event("password_reset", user_id=user.id, revoked=revoked)
        return revoked

    async def delete(self, user: User) -> int:
        revoked = await self.logins.revoke_all(user.id)
        if not await self.users.delete(user.id):
            raise Forbidden("the account is already gone")
        audit.event("account_deleted", user_id=user.id, revoked=revoked)
        return revoked

    async def delete_confirmed(self, user_id: str, password: str, ip: str) -> int:
        return await self.delete(await self.confirm(user_id, password, ip))
