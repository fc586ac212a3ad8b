"""Signing keys for access tokens, shared by every node through the database.

Each algorithm has its own numbered sequence of keys in ``signing_keys``.  The newest key signs;
a superseded key keeps verifying until every token it may have signed is dead
(``superseded_at + access_ttl + ROTATION_LEEWAY``, superseded_at being the next key's
``created_at``), then it leaves the ring and the JWKS.

Private keys are sealed at rest with AES-256-GCM under the deployment secret
(:func:`load_secret`), the kid and algorithm as associated data; they never appear in a repr,
in :meth:`KeyRepository.list` or in the JWKS.  :meth:`KeyRepository.export` is the one way out.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Column, Double, Integer, LargeBinary, String, Table, Text, UniqueConstraint, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from passgate.config import Algorithm
from passgate.credentials.schema import schema
from passgate.errors import ConfigError, NotFound
from passgate.files import private_dir
from passgate.ids import new_id

__all__ = ["ROTATION_LEEWAY", "KeyRepository", "KeyRing", "SigningKey", "derive_secret", "load_secret",
           "new_signing_key", "signing_keys"]  # fmt: skip

#: Seconds a superseded key outlives the last token it can have signed (clock skew, slow reloads).
ROTATION_LEEWAY = 60.0
SECRET_FILE = "secret.key"  # noqa: S105  (a file name)
_SEAL_VERSION = b"\x01"
_SECRET_INFO = b"passgate/deployment-secret/v1"

PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | bytes
PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | bytes
_Listing: TypeAlias = "builtins.list[dict[str, Any]]"

signing_keys = Table(
    "signing_keys",
    schema,
    Column("kid", String(16), primary_key=True),
    Column("alg", String(8), nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, ... per alg: orders keys, makes creation race-safe
    Column("created_at", Double, nullable=False),
    Column("private_key", LargeBinary, nullable=False),  # version byte, nonce, AES-GCM ciphertext
    Column("public_jwk", Text, nullable=True),  # JSON; null for HS256
    UniqueConstraint("alg", "seq", name="uq_signing_keys_alg_seq"),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _generate_material(alg: Algorithm) -> bytes:
    """32 bytes of private material: an Ed25519 seed, a P-256 scalar or an HMAC key."""
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate().private_bytes_raw()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    return secrets.token_bytes(32)


def _private_key(alg: Algorithm, material: bytes) -> PrivateKey:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.from_private_bytes(material)
    if alg == "ES256":
        return ec.derive_private_key(int.from_bytes(material, "big"), ec.SECP256R1())
    return material


def _public_members(key: PrivateKey) -> dict[str, str]:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(key.public_key().public_bytes_raw())}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return {"kty": "EC", "crv": "P-256", "x": _b64(x), "y": _b64(y)}
    return {}


@dataclass(frozen=True, slots=True, eq=False)
class SigningKey:
    """One key: the private half signs, the public half (the same bytes for HS256) verifies."""

    kid: str
    alg: Algorithm
    created_at: float
    #: The public JWK (with kid, alg, use); None for HS256, whose key is never published.
    public_jwk: Mapping[str, str] | None
    signing_key: PrivateKey = field(repr=False, compare=False)
    verifying_key: PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_material(cls, alg: Algorithm, kid: str, created_at: float, material: bytes) -> SigningKey:
        private = _private_key(alg, material)
        if isinstance(private, bytes):
            return cls(kid, alg, created_at, None, private, private)
        jwk = {**_public_members(private), "kid": kid, "alg": alg, "use": "sig"}
        return cls(kid, alg, created_at, MappingProxyType(jwk), private, private.public_key())


def new_signing_key(alg: Algorithm, *, created_at: float, kid: str | None = None) -> SigningKey:
    """A fresh key that lives only in memory (tests, single-process tools)."""
    return SigningKey.from_material(alg, kid or new_id(6), created_at, _generate_material(alg))


@dataclass(frozen=True, slots=True, eq=False)
class KeyRing:
    """An immutable snapshot of one algorithm's keys: ``current`` signs, every key in ``keys`` verifies."""

    alg: Algorithm
    current: SigningKey
    keys: Mapping[str, SigningKey]
    #: When the oldest verifying key retires (reload by then); None when only ``current`` is left.
    refresh_at: float | None = None

    @classmethod
    def of(cls, current: SigningKey, *previous: SigningKey, refresh_at: float | None = None) -> KeyRing:
        if any(key.alg != current.alg for key in previous):
            raise ValueError("a key ring holds keys of one algorithm")
        keys = {key.kid: key for key in (current, *previous)}
        return cls(current.alg, current, MappingProxyType(keys), refresh_at)

    @property
    def version(self) -> tuple[str, ...]:
        """The kids, newest first: differs whenever the ring does."""
        return tuple(self.keys)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set of the verifying keys (empty under HS256)."""
        return {"keys": [dict(key.public_jwk) for key in self.keys.values() if key.public_jwk is not None]}


def derive_secret(given: str) -> bytes:
    """The 256-bit deployment key from a secret string: HKDF-SHA256 of its UTF-8 bytes.

    The string must have at least 32 characters and should be random (``secrets.token_urlsafe(32)``):
    HKDF does not slow down guessing the way a password hash would.
    """
    if len(given) < 32:
        raise ConfigError("the deployment secret must be at least 32 characters")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SECRET_INFO)
    return hkdf.derive(given.encode("utf-8", "surrogateescape"))


def load_secret(data_dir: Path, given: str | None = None) -> bytes:
    """The deployment key: from ``given`` if set, else from ``data_dir/secret.key``, created on first use.

    The file holds a base64url string (256 random bits), so ``--secret "$(cat secret.key)"`` on
    another machine gives the same key.  Creation is atomic: concurrent first starts agree.
    """
    if given is not None:
        return derive_secret(given)
    path = data_dir / SECRET_FILE
    if not path.exists():
        private_dir(data_dir)
        _create_secret_file(path)
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        return derive_secret(text)
    except ConfigError:
        raise ConfigError(f"{path} does not hold a deployment secret (32+ characters)") from None


def _create_secret_file(path: Path) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process got there first: theirs counts
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class KeyRepository:
    """The ``signing_keys`` table, with private keys sealed under the deployment secret."""

    def __init__(self, engine: AsyncEngine, secret: bytes, *, clock: Callable[[], float] = time.time):
        if len(secret) != 32:
            raise ConfigError("the deployment secret must be 32 bytes")
        self._engine = engine
        self._aead = AESGCM(secret)
        self._clock = clock

    def __repr__(self) -> str:
        return f"<KeyRepository {self._engine.url.render_as_string(hide_password=True)}>"

    async def ensure(self, alg: Algorithm, *, access_ttl: float) -> KeyRing:
        """The ring of ``alg``, creating its first key if there is none (safe when nodes start together)."""
        for _attempt in range(3):
            if await self._newest(alg) is not None:
                break
            try:
                await self._add(alg, seq=1, created_at=self._clock())
            except IntegrityError:
                continue  # another process created the first key at the same time: use it
        return await self.load(alg, access_ttl=access_ttl)

    async def rotate(self, alg: Algorithm) -> dict[str, Any]:
        """Add a new current key for ``alg``; the others keep verifying until they retire."""
        for _attempt in range(5):
            newest = await self._newest(alg)
            seq = newest.seq + 1 if newest else 1
            created_at = max(self._clock(), newest.created_at) if newest else self._clock()
            try:
                kid = await self._add(alg, seq=seq, created_at=created_at)
            except IntegrityError:
                continue  # a concurrent rotation took this number; take the next
            return next(key for key in await self.list(alg) if key["kid"] == kid)
        raise ConfigError(f"could not rotate the {alg} key: too many concurrent rotations")

    async def load(self, alg: Algorithm, *, access_ttl: float) -> KeyRing:
        """The current key and every key that may still have live tokens out; NotFound if none."""
        rows = self._live(await self._rows(alg), access_ttl)
        if not rows:
            raise NotFound(f"no {alg} signing key yet")
        keys = [SigningKey.from_material(alg, row.kid, row.created_at, self._open(row)) for row in rows]
        refresh_at = self._retires_at(rows, len(rows) - 1, access_ttl) if len(rows) > 1 else None
        return KeyRing.of(*keys, refresh_at=refresh_at)

    async def export(self, kid: str) -> dict[str, str]:
        """The private JWK of ``kid`` (``d`` for EdDSA/ES256, ``k`` for HS256)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(signing_keys).where(signing_keys.c.kid == kid))).first()
        if row is None:
            raise NotFound("no signing key with that kid")
        key = SigningKey.from_material(row.alg, row.kid, row.created_at, material := self._open(row))
        if key.public_jwk is None:
            return {"kty": "oct", "kid": key.kid, "alg": key.alg, "use": "sig", "k": _b64(material)}
        return {**key.public_jwk, "d": _b64(material)}

    async def list(self, alg: Algorithm | None = None, *, access_ttl: float | None = None) -> _Listing:
        """Public facts of every key, newest first per algorithm; with ``access_ttl``, retired keys left out.

        One flat dict a key: kid, alg, created_at (ISO 8601 UTC), status (current or previous) and
        the public JWK's members.  Never private material.
        """
        rows = await self._rows(alg)
        listed: _Listing = []
        for name in dict.fromkeys(row.alg for row in rows):
            of_alg = [row for row in rows if row.alg == name]
            shown = of_alg if access_ttl is None else self._live(of_alg, access_ttl)
            listed += [
                _public_entry(row, "previous" if index else "current") for index, row in enumerate(shown)
            ]
        return listed

    def _live(self, rows: Sequence[Row[Any]], access_ttl: float) -> Sequence[Row[Any]]:
        """The newest row and the superseded ones not yet retired (rows newest first)."""
        now = self._clock()
        live = 1
        while live < len(rows) and now < self._retires_at(rows, live, access_ttl):
            live += 1
        return rows[:live]

    @staticmethod
    def _retires_at(rows: Sequence[Row[Any]], index: int, access_ttl: float) -> float:
        return float(rows[index - 1].created_at) + access_ttl + ROTATION_LEEWAY

    async def _rows(self, alg: Algorithm | None) -> Sequence[Row[Any]]:
        """Rows newest first within each algorithm."""
        query = select(signing_keys).order_by(signing_keys.c.alg, signing_keys.c.seq.desc())
        async with self._engine.connect() as conn:
            return (
                await conn.execute(query if alg is None else query.where(signing_keys.c.alg == alg))
            ).all()

    async def _newest(self, alg: Algorithm) -> Row[Any] | None:
        return next(iter(await self._rows(alg)), None)

    async def _add(self, alg: Algorithm, *, seq: int, created_at: float) -> str:
        kid = new_id(6)
        key = SigningKey.from_material(alg, kid, created_at, material := _generate_material(alg))
        sealed = self._seal(kid, alg, material)
        public = json.dumps(dict(key.public_jwk)) if key.public_jwk is not None else None
        values = {"kid": kid, "alg": alg, "seq": seq, "created_at": created_at}
        async with self._engine.begin() as conn:
            await conn.execute(signing_keys.insert().values(**values, private_key=sealed, public_jwk=public))
        return kid

    def _seal(self, kid: str, alg: str, material: bytes) -> bytes:
        nonce = os.urandom(12)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, material, _associated(kid, alg))

    def _open(self, row: Row[Any]) -> bytes:
        sealed: bytes = row.private_key
        try:
            if sealed[:1] != _SEAL_VERSION:
                raise InvalidTag
            return self._aead.decrypt(sealed[1:13], sealed[13:], _associated(row.kid, row.alg))
        except InvalidTag:
            raise ConfigError(
                f"signing key {row.kid} cannot be decrypted: the deployment secret is not the one it was "
                "created with (check --secret or the data dir's secret.key)"
            ) from None


def _public_entry(row: Row[Any], status: str) -> dict[str, Any]:
    public = json.loads(row.public_jwk) if row.public_jwk else {}
    return {**public, "kid": row.kid, "alg": row.alg, "created_at": _iso(row.created_at), "status": status}


def _associated(kid: str, alg: str) -> bytes:
    return f"passgate/signing-key/v1|{alg}|{kid}".encode()
