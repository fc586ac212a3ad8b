"""What a lab run found: one entry per wrk scenario, a few scalar figures, and notes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.wrk import Measurement


@dataclass
class Entry:
    """One scenario: its figures, or why there are none ("unavailable: …", "failed: …")."""

    id: str
    label: str
    measurement: Measurement | None = None
    note: str = ""
    #: The ceiling measured on the same server in runs alternating with this one (an entry id).
    ceiling: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "note": self.note, "ceiling": self.ceiling,
                "measurement": self.measurement.to_dict() if self.measurement else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        found = data.get("measurement")
        measurement = None
        if found:
            names = Measurement.__dataclass_fields__
            fields = {k: v for k, v in found.items() if k in names}
            runs = {k: tuple(fields.get(k, ())) for k in ("runs", "p99_runs")}
            measurement = Measurement(**{**fields, **runs})
        return cls(data["id"], data["label"], measurement, data.get("note", ""), data.get("ceiling"))


@dataclass
class Results:
    entries: dict[str, Entry] = field(default_factory=dict)
    #: Single figures: sizes, hash times, revocation lag, seeding times…
    figures: dict[str, Any] = field(default_factory=dict)
    #: What the reader must know about this run (fallbacks, reduced counts, errors).
    notes: list[str] = field(default_factory=list)
    #: Machine, versions and settings.
    context: dict[str, Any] = field(default_factory=dict)

    def add(self, entry: Entry) -> Entry:
        self.entries[entry.id] = entry
        return entry

    def measurement(self, entry_id: str) -> Measurement | None:
        entry = self.entries.get(entry_id)
        if entry is None or entry.measurement is None or entry.note:
            return None
        return entry.measurement

    def to_dict(self) -> dict[str, Any]:
        return {"entries": [e.to_dict() for e in self.entries.values()], "figures": self.figures,
                "notes": self.notes, "context": self.context}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> Results:
        data = json.loads(path.read_text())
        results = cls(figures=data["figures"], notes=data["notes"], context=data["context"])
        for entry in data["entries"]:
            results.add(Entry.from_dict(entry))
        return results
