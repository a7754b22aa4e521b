"""What a feature table is: its name, location, version, keys and columns (as its metadata and
the Delta log say)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TableInfo:
    name: str
    location: str
    version: int
    rows: int
    primary_keys: list[str]
    timestamp_key: str | None
    columns: dict[str, str]  # name -> Arrow type
    description: str = ""

    @property
    def feature_columns(self) -> list[str]:
        keys = {*self.primary_keys, *([self.timestamp_key] if self.timestamp_key else [])}
        return [c for c in self.columns if c not in keys]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "version": self.version,
            "rows": self.rows,
            "primary_keys": self.primary_keys,
            "timestamp_key": self.timestamp_key,
        }
