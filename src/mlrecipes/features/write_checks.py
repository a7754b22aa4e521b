"""What a write to a feature table must satisfy before anything is committed: a schema that fits (or evolves) the table's, unique keys per snapshot, and no snapshot written twice (checked by key hashes, batch by batch, so a stream never has to be held whole)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from mlrecipes.errors import FeatureTableError
from mlrecipes.features.fingerprints import (
    SnapshotPrint,
    key_hashes,
    merge_prints,
    prints_of,
    row_hashes,
    snapshot_ids,
    snapshot_iso,
    snapshot_micros,
)
from mlrecipes.features.table_info import TableInfo


def _compatible(table_type: pa.DataType, new_type: pa.DataType) -> bool:
    if table_type == new_type:
        return True
    if pa.types.is_null(new_type):  # an all-empty column in this batch
        return True
    if pa.types.is_timestamp(table_type) and pa.types.is_timestamp(new_type):
        return True
    for check in (pa.types.is_integer, pa.types.is_floating):
        if check(table_type) and check(new_type):
            return True
    return (pa.types.is_string(table_type) or pa.types.is_large_string(table_type)) and (
        pa.types.is_string(new_type) or pa.types.is_large_string(new_type)
    )


def _check_schema(info: TableInfo, incoming: pa.Schema, evolve: bool) -> pa.Schema:
    """The schema the data is written with; a changed type or, without ``evolve``, a new or
    missing column is an error naming the columns."""
    from deltalake import DeltaTable

    current = pa.schema(DeltaTable(info.location).schema().to_arrow())
    changed = [
        f"'{f.name}' ({current.field(f.name).type} in the table, {f.type} written)"
        for f in incoming
        if f.name in current.names and not _compatible(current.field(f.name).type, f.type)
    ]
    if changed:
        raise FeatureTableError(
            f"feature table '{info.name}': column type changed for {', '.join(changed)}; a feature "
            "keeps its type (write it as a new column, or create a new table)"
        )
    new = [n for n in incoming.names if n not in current.names]
    if new and not evolve:
        raise FeatureTableError(
            f"feature table '{info.name}': new columns {new} are not in the table; set "
            "schema_evolution: true (steps.features) to add them"
        )
    missing = [n for n in current.names if n not in incoming.names]
    if missing:
        raise FeatureTableError(
            f"feature table '{info.name}': the data lacks the table's columns {missing}"
        )
    fields = [current.field(n) for n in current.names] + [incoming.field(n) for n in new]
    return pa.schema(fields)


def _snapshot_values(values: Any) -> set[str]:
    stamps = pd.to_datetime(pd.Series(values), utc=True).dropna()
    return {t.isoformat() for t in stamps}


def _conflict(info: TableInfo, clash: set[str]) -> FeatureTableError:
    shown = ", ".join(sorted(clash)[:3])
    return FeatureTableError(
        f"feature table '{info.name}' already holds the snapshot {shown} (version "
        f"{info.version}): another writer committed it first; nothing was written"
    )


def _null_key_error(info: TableInfo, nulls: dict[str, int]) -> FeatureTableError:
    said = ", ".join(f"'{k}' ({n} rows)" for k, n in nulls.items())
    return FeatureTableError(
        f"feature table '{info.name}': primary key columns may not be null (as in Databricks), "
        f"and the data has nulls in {said}; nothing was written"
    )


def _check_unique(info: TableInfo, frame: pd.DataFrame) -> None:
    keys = [*info.primary_keys, *([info.timestamp_key] if info.timestamp_key else [])]
    nulls = {k: int(frame[k].isna().sum()) for k in keys if k in frame.columns}
    if any(nulls.values()):
        raise _null_key_error(info, {k: n for k, n in nulls.items() if n})
    duplicated = frame.duplicated(keys)
    if duplicated.any():
        sample = frame.loc[duplicated, keys].head(3).to_dict("records")
        raise FeatureTableError(
            f"feature table '{info.name}': {int(duplicated.sum())} rows repeat a primary key "
            f"{keys} within the data written, e.g. {sample}"
        )


class SnapshotsRedelivered(FeatureTableError):
    """Snapshots already in the table arrived again with other content (their recorded print
    differs): the caller may write again with them in ``complete_snapshots``."""

    def __init__(self, table: str, found: dict[str, tuple[SnapshotPrint, SnapshotPrint]]):
        self.table, self.snapshots = table, sorted(found)
        said = "; ".join(
            f"{iso}: {was.rows} rows written, {now.rows} delivered now"
            for iso, (was, now) in sorted(found.items())
        )
        super().__init__(
            f"feature table '{table}': snapshots already written were delivered again with other "
            f"content ({said}); write again with complete_snapshots={self.snapshots} to add the "
            "rows that are missing; nothing was written"
        )


def changed_snapshot_error(
    info: TableInfo, iso: str, was: SnapshotPrint, kept: SnapshotPrint
) -> FeatureTableError:
    if kept.rows < was.rows:
        what = f"lacks {was.rows - kept.rows} of the {was.rows} rows written from it"
    else:
        what = f"changes rows written from it (of its {was.rows} rows, the content differs)"
    return FeatureTableError(
        f"feature table '{info.name}': the snapshot {iso} was delivered again and {what}; a "
        f"snapshot is written once and only completed, never rewritten. To replace it, delete "
        f"its rows from the feature and labels tables (a Delta DELETE WHERE "
        f"{info.timestamp_key} = '{iso}') and run again; nothing was written"
    )


class _SnapshotCheck:
    """Streams batches through the snapshot-conflict and key-uniqueness checks, cast to the
    table's schema, without leaving Arrow: memory stays flat however many rows pass. Keys are
    checked unique within the whole write by 64-bit hashes (8 bytes a row, each batch's kept
    sorted and probed by binary search, so no second copy is ever made).

    Snapshots already in the table are skipped, but their print is taken as they stream: one
    whose print differs from the recorded one is redelivered, raised at the end of the stream
    (before the commit). A snapshot in ``reopened`` (its keys already in the table) is
    completed: rows with new keys are written, and the rows with known keys must add up to the
    recorded print, else nothing is written."""

    def __init__(
        self,
        info: TableInfo,
        existing: set[str],
        skip: bool,
        recorded: dict[int, SnapshotPrint | None] | None = None,
        reopened: dict[int, Any] | None = None,
    ):
        self.info, self.existing, self.skip = info, existing, skip
        self.existing_ids = np.array(sorted(snapshot_micros(s) for s in existing), dtype=np.int64)
        self.recorded = recorded or {}
        self.reopened = reopened or {}
        self.rows = 0
        self.skipped: set[str] = set()
        self.completed: dict[str, int] = {snapshot_iso(s): 0 for s in self.reopened}
        self.incoming: dict[int, SnapshotPrint] = {}
        self.kept: dict[int, SnapshotPrint] = {}
        self._seen: list[Any] = []  # sorted key hashes of each batch written

    def filter(
        self, batches: Iterator[pa.RecordBatch], schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        from mlrecipes.process.memory import release_free_memory

        ts = self.info.timestamp_key
        keys = [*self.info.primary_keys, *([ts] if ts else [])]
        for batch in batches:
            release_free_memory()
            if ts is not None:
                batch = self._snapshots(batch, ts, schema)
            if batch.num_rows == 0:
                continue
            nulls = {k: batch.column(k).null_count for k in keys}
            if any(nulls.values()):
                raise _null_key_error(self.info, {k: n for k, n in nulls.items() if n})
            hashes = np.sort(key_hashes(batch, keys))
            repeated = bool((hashes[1:] == hashes[:-1]).any()) or any(
                _contains_any(seen, hashes) for seen in self._seen
            )
            if repeated:
                raise FeatureTableError(
                    f"feature table '{self.info.name}': rows repeat a primary key {keys} within "
                    "the data written; nothing was written"
                )
            self._seen.append(hashes)
            self.rows += batch.num_rows
            yield batch.select(schema.names).cast(schema)
        self._finish()

    def _snapshots(self, batch: pa.RecordBatch, ts: str, schema: pa.Schema) -> pa.RecordBatch:
        """The rows of ``batch`` to write: those of new snapshots, and the new keys of reopened
        ones; every row counts towards its snapshot's print."""
        ids = snapshot_ids(batch, ts)
        hashes = row_hashes(batch, schema.names)
        merge_prints(self.incoming, prints_of(ids, hashes))
        if not len(self.existing_ids):
            return batch
        old = np.isin(ids, self.existing_ids)
        if not old.any():
            return batch
        clash = {snapshot_iso(s) for s in np.unique(ids[old])}
        if not self.skip:
            raise _conflict(self.info, clash)
        write = ~old
        for snapshot, present in self.reopened.items():
            rows = ids == snapshot
            if not rows.any():
                continue
            known = rows & _member(present, key_hashes(batch, self.info.primary_keys))
            merge_prints(self.kept, prints_of(ids, hashes, known))
            added = rows & ~known
            write |= added
            self.completed[snapshot_iso(snapshot)] += int(added.sum())
        self.skipped |= clash - set(self.completed)
        return batch.filter(pa.array(write))

    def _finish(self) -> None:
        redelivered = {}
        for snapshot in set(self.existing_ids.tolist()) & set(self.incoming):
            was = self.recorded.get(snapshot)
            if was is None:
                continue  # written before prints were recorded, or rewritten by a merge
            if snapshot in self.reopened:
                kept = self.kept.get(snapshot, SnapshotPrint())
                if kept != was:
                    raise changed_snapshot_error(self.info, snapshot_iso(snapshot), was, kept)
            elif self.incoming[snapshot] != was:
                redelivered[snapshot_iso(snapshot)] = (was, self.incoming[snapshot])
        if redelivered:
            raise SnapshotsRedelivered(self.info.name, redelivered)

    def commit_prints(self) -> dict[int, SnapshotPrint | None]:
        """The prints the commit records: each new snapshot's, and a completed one's (the
        print of the whole delivery, which now is what the table holds)."""
        existing = set(self.existing_ids.tolist())
        return {s: p for s, p in self.incoming.items() if s not in existing or s in self.reopened}


def _member(sorted_values: Any, probes: Any) -> Any:
    """Per probe: whether it is among ``sorted_values``."""
    if not len(sorted_values):
        return np.zeros(len(probes), dtype=bool)
    at = np.searchsorted(sorted_values, probes)
    at[at == len(sorted_values)] = 0
    return sorted_values[at] == probes


def _contains_any(sorted_values: Any, probes: Any) -> bool:
    return bool(_member(sorted_values, probes).any())
