"""A step's journal: what it is about to commit, written before the commit and cleared once
everything after it is recorded too, so the next run knows what a killed run left half done.

Crash recovery for writes that are not one transaction with their record: predict's scores
commit and its ``prediction_info``, monitor's table commit and its MLflow run. The entry is
replaced atomically (written beside it, then renamed): a reader sees the old entry or the new
one, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrecipes.io.atomic import write_text_atomic


@dataclass(frozen=True)
class Journal:
    path: Path

    def read(self) -> dict[str, Any] | None:
        """The pending entry, or None (none, or unreadable: a torn write never happens, but a
        hand edit may, and then there is nothing to recover from)."""
        try:
            entry = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def write(self, entry: dict[str, Any]) -> None:
        write_text_atomic(self.path, json.dumps(entry, default=str))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
