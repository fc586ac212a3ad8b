"""The web layer's tests run over the credentials part on a memory store (tests/credentials/conftest.py)."""

from tests.credentials.conftest import world

__all__ = ["world"]
