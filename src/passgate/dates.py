"""Instants as the API and the CLI print them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(epoch: float) -> str:
    """``1700000000`` → ``"2023-11-14T22:13:20Z"`` (RFC 3339, to the second, UTC)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
