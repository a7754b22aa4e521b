"""What a training set was built from: lookups (Databricks' ``FeatureLookup`` names) and the
feature spec recorded with a model (tables, Delta versions, keys, features). Pure data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


def _as_list(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class FeatureLookup:
    """Features of ``table_name`` for the rows of a spine, matched on ``lookup_key`` (columns of
    the spine, in the order of the table's primary keys) and, with ``timestamp_lookup_key`` (a
    column of the spine), the latest snapshot at or before that time."""

    table_name: str
    lookup_key: str | list[str]
    timestamp_lookup_key: str | None = None
    feature_names: list[str] | None = None  # None: every feature column of the table
    rename_outputs: dict[str, str] = field(default_factory=dict)

    @property
    def lookup_keys(self) -> list[str]:
        return _as_list(self.lookup_key)

    def output_name(self, feature: str) -> str:
        return self.rename_outputs.get(feature, feature)


@dataclass(frozen=True)
class TableRead:
    """One feature table as a training set read it."""

    table: str
    location: str
    version: int
    primary_keys: list[str]
    timestamp_key: str | None
    lookup_key: list[str]
    timestamp_lookup_key: str | None
    features: list[str]  # the table's columns read
    outputs: list[str]  # their names in the training set (after rename_outputs)


@dataclass(frozen=True)
class FeatureSpec:
    """Recorded with a model (``feature_spec.json``): how to rebuild its inputs from keys."""

    tables: list[TableRead]
    spine_columns: list[str]  # the columns the spine contributed (keys, timestamps, others)
    label: str | None = None
    exclude_columns: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        data = json.loads(text)
        return cls(
            tables=[TableRead(**t) for t in data["tables"]],
            spine_columns=list(data["spine_columns"]),
            label=data.get("label"),
            exclude_columns=list(data.get("exclude_columns", [])),
        )

    def lookups(self) -> list[FeatureLookup]:
        """The lookups that rebuild the same columns (for scoring by key)."""
        return [
            FeatureLookup(
                table_name=t.table,
                lookup_key=list(t.lookup_key),
                timestamp_lookup_key=t.timestamp_lookup_key,
                feature_names=list(t.features),
                rename_outputs={f: o for f, o in zip(t.features, t.outputs, strict=True) if f != o},
            )
            for t in self.tables
        ]

    def lineage(self) -> list[dict[str, Any]]:
        """``inspect --step ingest --json``'s view: table, location, version, features."""
        return [
            {"table": t.table, "location": t.location, "version": t.version, "features": t.outputs}
            for t in self.tables
        ]

    def tags(self) -> dict[str, str]:
        """Run and model-version tags naming each table read and its Delta version."""
        tags: dict[str, str] = {}
        for i, t in enumerate(self.tables):
            prefix = f"mlrecipes.feature_table.{i}."
            tags[prefix + "name"] = t.table
            tags[prefix + "location"] = t.location
            tags[prefix + "version"] = str(t.version)
            tags[prefix + "keys"] = ",".join(t.primary_keys)
            tags[prefix + "features"] = ",".join(t.outputs)[:4900]
        return tags
