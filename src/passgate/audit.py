"""Audit events: one structured (JSON) log line each, never a password, token or session secret."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("passgate.audit")


def event(name: str, *, user_id: str, **fields: object) -> None:
    log.info(json.dumps({"event": name, "user_id": user_id, **fields}, separators=(",", ":")))
