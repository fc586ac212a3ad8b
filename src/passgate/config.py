"""Settings of one deployment: frozen and checked at construction.

``Settings(...)`` takes keywords only; :func:`load_settings` also reads ``PASSGATE_*`` environment
variables (keywords, as the CLI passes its options, win over them).  Reading the environment is
always the caller's explicit choice, never a side effect.
"""

from __future__ import annotations

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
Algorithm = Literal["EdDSA", "ES256", "HS256"]
#: Sender-constrained tokens (RFC 9449): refused, a client's choice, or every token request's duty.
DpopMode = Literal["off", "allowed", "required"]


class Settings(BaseSettings):
    """One deployment's options, from keywords; :func:`load_settings` adds ``PASSGATE_<NAME>`` for each."""

    model_config = SettingsConfigDict(env_prefix="PASSGATE_", frozen=True, extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("./passgate-data")
    database_url: str | None = None
    store: str | None = None
    session_idle: Duration = 30 * 60
    session_absolute: Duration = 12 * 3600
    access_ttl: Duration = 10 * 60
    refresh_idle: Duration = 14 * 86400
    refresh_absolute: Duration = 30 * 86400
    #: A spent refresh token replayed within this long of its rotation revokes nothing (the contract: at most 10 s).
    refresh_race_window: Annotated[float, NoDecode, Field(le=10)] = 10.0
    jwt_alg: Algorithm = "EdDSA"
    audience: str = "passgate"
    issuer: str | None = None
    insecure_cookies: bool = False
    login_limit: Annotated[tuple[int, float], NoDecode] = (10, 300.0)
    outage: Literal["grace", "closed"] = "grace"
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    public_url: str | None = None
    max_logins: int = Field(0, ge=0)
    dpop: DpopMode = "allowed"
    #: Ask every DPoP proof for a server nonce (``DPoP-Nonce``, ``use_dpop_nonce``; RFC 9449 §8).
    dpop_nonces: bool = False
    secret: SecretStr | None = None
    password_time_cost: int = Field(3, ge=1, le=20)
    password_memory_kib: int = Field(65536, ge=1024, le=4 * 1024 * 1024)
    password_parallelism: int = Field(4, ge=1, le=64)

    @field_validator(
        "session_idle", "session_absolute", "access_ttl", "refresh_idle", "refresh_absolute", "refresh_race_window",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("login_limit", mode="before")
    @classmethod
    def _rate(cls, value: object) -> tuple[int, float]:
        return parse_rate(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("public_url", "issuer")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+$", value.rstrip("/")):
            raise ValueError(f"not an origin URL (scheme://host[:port]): {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _store_scheme(self) -> Settings:
        schemes = ("memory://", "sqlite:///", "redis://", "rediss://", "redis+cluster://")
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
