"""The optional parts of passgate and the extra that installs each: a clear word, not an ImportError."""

from __future__ import annotations

import functools
import importlib.util

from passgate.errors import ConfigError

#: The module each extra brings, by import name.
EXTRAS = {"redis": "redis", "asyncpg": "postgres", "uvicorn": "server", "python_multipart": "board"}


@functools.cache
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None  # 60 µs: once per module and process


def require(module: str, what: str) -> None:
    """ConfigError naming the extra to install, unless ``module`` can be imported."""
    if not _installed(module):
        extra = EXTRAS[module]
        raise ConfigError(f"{what} needs the {extra!r} extra: pip install 'passgate[{extra}]'")
