"""Settings of one deployment: frozen and checked at construction.

``Settings(...)`` takes keywords only; :func:`load_settings` also reads ``PASSGATE_*`` environment
variables (keywords, as the CLI passes its options, win over them).  Reading the environment is
always the caller's explicit choice, never a side effect.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from passgate.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> float:
    """``"30m"`` → 1800.0; a bare number means seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 10m, 12h, 14d)")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def parse_rate(value: object) -> tuple[int, float]:
    """``"10/5m"`` → (10, 300.0)."""
    if isinstance(value, tuple):
        return int(value[0]), float(value[1])
    count, _, window = str(value).partition("/")
    if not count.strip().isdigit() or int(count) < 1 or not window:
        raise ValueError(f"not a rate: {value!r} (use e.g. 10/5m)")
    return int(count), parse_duration(window)


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip() and item.strip() != "none"]
    return value


Duration = Annotated[float, NoDecode]
#: The settings that are durations.
DURATIONS = ("session_idle", "session_absolute", "access_ttl", "refresh_idle", "refresh_absolute",
             "refresh_race_window", "mail_token_ttl", "device_cookie_ttl", "mfa_token_ttl", "dbsc_cookie_ttl")
Algorithm = Literal["EdDSA", "ES256", "HS256"]
#: Sender-constrained tokens (RFC 9449): refused, a client's choice, or every token request's duty.
DpopMode = Literal["off", "allowed", "required"]


class Settings(BaseSettings):
    """One deployment's options, from keywords; :func:`load_settings` adds ``PASSGATE_<NAME>`` for each."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_", frozen=True, extra="forbid",
                                      use_attribute_docstrings=True)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    host: str = "127.0.0.1"
    """The address ``serve`` listens on."""
    port: int = Field(8000, ge=0, le=65535)
    """The port ``serve`` listens on."""
    data_dir: Path = Path("./passgate-data")
    """Where the embedded defaults keep their files: the SQLite database and store, and the deployment secret."""
    database_url: str | None = None
    """Users and signing keys (and the board's posts): ``sqlite+aiosqlite:///PATH`` or
    ``postgresql+asyncpg://…`` (``passgate[postgres]``). Default: ``sqlite+aiosqlite:///<data-dir>/passgate.db``."""
    store: str | None = None
    """Where logins, refresh tokens, counters and revocations live: ``memory://``, ``sqlite:///PATH``,
    ``redis://HOST:PORT/DB``, ``rediss://…``, ``redis+cluster://HOST:PORT[,HOST:PORT…]``, ``rediss+cluster://…``,
    ``redis+sentinel://HOST:PORT[,HOST:PORT…]/SERVICE[/DB]`` (the sentinels of a master) or ``rediss+sentinel://…``
    (the Redis ones need ``passgate[redis]``). Default: ``sqlite:///<data-dir>/state.db``."""
    session_idle: Duration = 30 * 60
    """A cookie session ends after this long unused."""
    session_absolute: Duration = 12 * 3600
    """A cookie session ends this long after the login, however used."""
    access_ttl: Duration = 10 * 60
    """The lifetime of an access token."""
    refresh_idle: Duration = 14 * 86400
    """A token login ends after this long without a refresh."""
    refresh_absolute: Duration = 30 * 86400
    """A token login ends this long after the login, however refreshed."""
    refresh_race_window: Annotated[float, NoDecode, Field(le=10)] = 10.0
    """A spent refresh token presented again within this long of its rotation revokes nothing (at most 10 s)."""
    mfa_token_ttl: Annotated[float, NoDecode, Field(gt=0, le=300)] = 300.0
    """How long the ``mfa_token`` of a login's second step lives (at most 5 minutes)."""
    jwt_alg: Algorithm = "EdDSA"
    """The algorithm that signs access tokens: ``EdDSA``, ``ES256`` or ``HS256``."""
    audience: str = "passgate"
    """The access tokens' ``aud``."""
    issuer: str | None = None
    """The access tokens' ``iss``. Default: ``--public-url``, else ``http://HOST:PORT`` of the first node
    started on the database, kept there: one issuer per deployment."""
    insecure_cookies: bool = False
    """Plain http outside loopback: drops ``Secure`` and the ``__Host-`` prefix of the cookies."""
    login_limit: Annotated[tuple[int, float], NoDecode] = (10, 300.0)
    """Failed logins per account and per client address (``COUNT/WINDOW``); past it, 429 until the window passes.
    A client with a device cookie of the account (from an earlier login) is held to its device cookie's own
    count instead of the account's, so that strangers' guesses cannot lock the account's owner out."""
    device_cookie_ttl: Duration = 365 * 86400
    """How long a device cookie lasts: every successful login hands one out (``__Host-passgate-device``),
    and a login that presents it is exempt from the account's lockout."""
    outage: Literal["grace", "closed"] = "grace"
    """Access tokens while the store is unreachable: ``grace`` (their signature, and what the node knew was
    revoked) or ``closed`` (503)."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Origins (comma-separated) allowed to call the API with bearer tokens; no credentialed CORS."""
    public_url: str | None = None
    """The address users reach the deployment at, behind a proxy (``Origin`` checks, the default issuer)."""
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Proxies (addresses or networks, comma-separated) whose ``X-Forwarded-For`` names the client, so that
    the per-address login limit counts clients behind them. Nothing else's is believed."""
    max_logins: int = Field(0, ge=0)
    """Live logins per user, cookie and token together (0: no cap); a login past it ends the oldest."""
    dpop: DpopMode = "allowed"
    """DPoP-bound tokens (RFC 9449): ``off`` (proofs ignored, the DPoP scheme refused), ``allowed`` (a token
    request with a proof binds its tokens to the client's key) or ``required`` (every token request needs one)."""
    dpop_nonces: bool = False
    """Ask every DPoP proof for a server nonce (``use_dpop_nonce`` with a ``DPoP-Nonce`` header; RFC 9449 §8)."""
    dbsc: Literal["off", "on"] = "off"
    """Device-bound browser sessions (DBSC, the W3C draft that Chrome ships): ``on`` offers every cookie login
    registration (``Secure-Session-Registration``); a browser that binds it to a key of its own then needs a
    short-lived bound cookie that only a signature by that key renews, so that a stolen session cookie alone is
    refused. Browsers that do not take part keep ordinary sessions. ``off``: nothing changes."""
    dbsc_cookie_ttl: Annotated[float, NoDecode, Field(ge=1, le=86400)] = 600.0
    """The lifetime of a device-bound session's bound cookie: how long a stolen one works, and how often the
    browser signs a challenge to renew it."""
    roles_claim: bool = False
    """Put the user's roles in every access token (a ``roles`` claim, read at login and at each refresh) for the
    services that verify passgate's tokens themselves. Off: tokens stay their default size. passgate's own
    ``require_role`` reads the database either way."""
    secret: SecretStr | None = None
    """The deployment secret (32+ characters; it seals the signing keys, tags refresh tokens, signs CSRF tokens),
    shared by every node. Only from ``PASSGATE_SECRET`` or ``--secret-file``, never on the command line.
    Default: ``<data-dir>/secret.key``, made on first start."""
    smtp_url: SecretStr | None = None
    """Where mail goes: ``smtp://[USER:PASS@]HOST:PORT``, ``smtp+starttls://…``, ``smtps://…``, or ``log://`` (each
    mail written to the log: for development only). Without it, nothing that needs mail is offered."""
    mail_from: str | None = None
    """The sender of passgate's mail. Default: ``passgate@<host of --public-url>``, else ``passgate@localhost``."""
    mail_token_ttl: Duration = 15 * 60
    """How long a mailed link (verification, password reset) stays valid."""
    mail_limit: Annotated[tuple[int, float], NoDecode] = (5, 900.0)
    """Mail requests (verification, reset) per address and per account (``COUNT/WINDOW``); past it, 429."""
    password_time_cost: int = Field(3, ge=1, le=20)
    """argon2id's passes over memory (t)."""
    password_memory_kib: int = Field(65536, ge=1024, le=4 * 1024 * 1024)
    """argon2id's memory per hash, KiB (m)."""
    password_parallelism: int = Field(4, ge=1, le=64)
    """argon2id's lanes (p)."""

    @field_validator(*DURATIONS, mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("login_limit", "mail_limit", mode="before")
    @classmethod
    def _rate(cls, value: object) -> tuple[int, float]:
        return parse_rate(value)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # its ValueError says what is wrong
        return value

    @field_validator("public_url", "issuer")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+$", value.rstrip("/")):
            raise ValueError(f"not an origin URL (scheme://host[:port]): {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp(cls, value: object) -> object:
        url = value.get_secret_value() if isinstance(value, SecretStr) else value
        if url is None or url == "none":
            return None
        if not isinstance(url, str) or not re.match(r"^(smtp|smtp\+starttls|smtps)://[^/\s]+/?$|^log://$", url):
            raise ValueError("not an SMTP URL: use smtp://, smtp+starttls:// or smtps://[USER:PASS@]HOST:PORT, or log://")
        return url

    @field_validator("mail_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and (not re.match(r"^[^\s@<>]+@[^\s@<>]+$", value)):
            raise ValueError("--mail-from is one address, as in passgate@example.com")
        return value

    @model_validator(mode="after")
    def _store_scheme(self) -> Settings:
        schemes = ("memory://", "sqlite:///", "redis://", "rediss://", "redis+cluster://", "rediss+cluster://",
                   "redis+sentinel://", "rediss+sentinel://")
        if self.store is not None and not self.store.startswith(schemes):
            raise ValueError(f"unknown store URL {self.store!r}; use one of {', '.join(schemes)}")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'passgate.db'}"

    @property
    def resolved_store(self) -> str:
        return self.store or f"sqlite:///{self.data_dir.resolve() / 'state.db'}"



class _EnvironmentSettings(Settings):
    """Settings that also read ``PASSGATE_*`` (keywords first)."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def load_settings(*, env: bool = True, **given: object) -> Settings:
    """Settings from keywords over ``PASSGATE_*`` variables (``env=False``: keywords only) over
    the defaults; a bad value is a ConfigError.  A keyword that is None is left out."""
    from pydantic import ValidationError

    kind = _EnvironmentSettings if env else Settings
    try:
        return kind(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(problems) from exc


def _duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _shown(name: str, value: object) -> str:
    """A default as an option would be written: ``30m``, ``10/5m``, ``none``."""
    if value is None or value == ():
        return "none"
    if name in DURATIONS and isinstance(value, int | float):
        return _duration_text(value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        return f"{value[0]}/{_duration_text(value[1])}"
    if isinstance(value, float):
        return _duration_text(value)
    if isinstance(value, bool):
        return "off" if not value else "on"
    return str(value)


def reference() -> list[tuple[str, str, str, str]]:
    """Every setting as ``(option, variable, default, what it does)``, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        option = "--" + ("secret-file" if name == "secret" else name.replace("_", "-"))
        doc = " ".join((field.description or "").split())
        doc = doc.replace("``", "`")
        default = doc.split("Default: ", 1)[1] if "Default: " in doc else f"`{_shown(name, field.default)}`"
        rows.append((option, f"PASSGATE_{name.upper()}", default.rstrip("."), doc.split(" Default: ", 1)[0]))
    return rows


def reference_markdown() -> str:
    """``docs/configuration.md``: generated from :class:`Settings`, so that it cannot drift."""
    lines = [
        "# Configuration", "",
        "Every setting of a deployment: an option of `passgate serve` (and, for the deployment's own options,",
        "of the admin commands), a `PASSGATE_*` environment variable, and a keyword of `Settings` and",
        "`Passgate.from_env()`. Options win over variables, variables over the defaults. A duration is a number",
        "followed by `s`, `m`, `h` or `d` (a bare number means seconds).", "",
        "This page is generated from `passgate.config.Settings` (`make docs`); a test keeps it current.", "",
        "| option | variable | default | what it does |", "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{o}` | `{v}` | {d} | {w} |" for o, v, d, w in reference()]
    return "\n".join(lines) + "\n"
