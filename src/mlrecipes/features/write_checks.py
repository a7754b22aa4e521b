"""What a write to a feature table must satisfy before anything is committed: a schema that fits (or evolves) the table's, unique keys per snapshot, and no snapshot written twice (checked by key hashes, batch by batch, so a stream never has to be held whole)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa

from mlrecipes.errors import FeatureTableError
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


def key_hashes(batch: pa.RecordBatch, columns: list[str]) -> Any:
    """One 64-bit hash per row of ``columns``, computed from the Arrow buffers with numpy.

    Written by hand for memory: the usual route (to pandas, ``hash_pandas_object``) creates a
    Python string per key and, over millions of rows, fragments the heap so that a streamed
    write's peak memory grew with the table. Strings hash as a polynomial over their bytes (with
    their length), numbers and timestamps by value, nulls as their own value."""
    import numpy as np

    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    combined = np.zeros(batch.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, name in enumerate(columns):
            column = batch.column(name)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                values = _string_hashes(column)
            elif pa.types.is_timestamp(column.type):
                values = column.cast(pa.timestamp("us", column.type.tz)).cast(pa.int64())
                values = values.fill_null(-(2**62)).to_numpy().astype(np.uint64)
            else:
                values = column.cast(pa.float64()).fill_null(np.nan).to_numpy()
                values = values.view(np.uint64)
            combined = (combined * np.uint64(0x9E3779B97F4A7C15) + values + np.uint64(i)) & mask
            combined ^= combined >> np.uint64(29)
    return combined


def _string_hashes(column: pa.Array) -> Any:
    import numpy as np

    column = column.cast(pa.large_string()).fill_null("\x00<null>")
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)[
        column.offset : column.offset + len(column) + 1
    ]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets).astype(np.uint64)
    if data.size == 0:
        return lengths * np.uint64(0x100000001B3)
    position = np.arange(data.size) - np.repeat(starts, lengths.astype(np.int64))
    powers = np.ones(int(position.max()) + 1, dtype=np.uint64)
    powers[1:] = np.uint64(1099511628211)
    powers = np.cumprod(powers)  # wraps modulo 2**64, as meant
    terms = data.astype(np.uint64) * powers[position]
    sums = np.add.reduceat(terms, np.minimum(starts, max(data.size - 1, 0)))
    sums[lengths == 0] = 0  # reduceat gives the next element for an empty segment
    return sums * np.uint64(31) + lengths


class _SnapshotCheck:
    """Streams batches through the snapshot-conflict and key-uniqueness checks, cast to the
    table's schema, without leaving Arrow: memory stays flat however many rows pass. Keys are
    checked unique within the whole write by 64-bit hashes (8 bytes a row, each batch's kept
    sorted and probed by binary search, so no second copy is ever made)."""

    def __init__(self, info: TableInfo, existing: set[str], skip: bool):
        self.info, self.existing, self.skip = info, existing, skip
        self.rows = 0
        self.skipped: set[str] = set()
        self._seen: list[Any] = []  # sorted key hashes of each batch written

    def filter(
        self, batches: Iterator[pa.RecordBatch], schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        import numpy as np
        import pyarrow.compute as pc

        from mlrecipes.process.memory import release_free_memory

        ts = self.info.timestamp_key
        keys = [*self.info.primary_keys, *([ts] if ts else [])]
        for batch in batches:
            release_free_memory()
            if ts is not None and self.existing:
                stamps = pc.unique(batch.column(ts)).to_pandas()
                clash = _snapshot_values(stamps) & self.existing
                if clash and not self.skip:
                    raise _conflict(self.info, clash)
                if clash:
                    self.skipped |= clash
                    times = pd.to_datetime(pd.Series(batch.column(ts).to_pandas()), utc=True)
                    keep = ~times.map(lambda t: t.isoformat() if not pd.isna(t) else "").isin(clash)
                    batch = batch.filter(pa.array(keep.to_numpy()))
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


def _contains_any(sorted_values: Any, probes: Any) -> bool:
    import numpy as np

    at = np.searchsorted(sorted_values, probes)
    at[at == len(sorted_values)] = 0
    return bool((sorted_values[at] == probes).any())
