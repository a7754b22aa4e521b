"""Feature tables as Delta tables under one root (the profile's feature store), with ``deltalake``.

A table is a folder ``<root>/<name with dots as folders>`` holding a Delta table and
``_mlrecipes_feature_table.json`` (primary keys, timestamp key, description: delta-rs refuses
custom table properties and drops the description when a schema evolves, so they live beside the
log). Every write is one Delta commit (files first, then the commit), so a failed or killed
write leaves the table at its previous version; writers of one table on this machine take turns
on a lock, and a snapshot (a timestamp) already in the table is a conflict, named as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlrecipes.errors import FeatureTableError

META_FILE = "_mlrecipes_feature_table.json"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
LOCK_TIMEOUT_S = 600.0


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


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int  # after the write (unchanged when nothing was written)
    rows: int
    skipped_snapshots: list[str]


class DeltaFeatureStore:
    """The Delta backend of :class:`mlrecipes.features.FeatureEngineeringClient`."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    # -- names and metadata ------------------------------------------------------------------
    def path(self, name: str) -> Path:
        if not _NAME.match(name or ""):
            raise FeatureTableError(
                f"feature table name {name!r}: expected <table>, <schema>.<table> or "
                "<catalog>.<schema>.<table> (letters, digits, '_')"
            )
        return self.root.joinpath(*name.split("."))

    def exists(self, name: str) -> bool:
        return (self.path(name) / "_delta_log").is_dir() and (self.path(name) / META_FILE).is_file()

    def _meta(self, name: str) -> dict[str, Any]:
        if not self.exists(name):
            raise FeatureTableError(
                f"feature table '{name}' does not exist in the feature store at {self.root} "
                f"(looked for {self.path(name)}); run the features step first"
            )
        return json.loads((self.path(name) / META_FILE).read_text(encoding="utf-8"))

    def info(self, name: str, version: int | None = None) -> TableInfo:
        from deltalake import DeltaTable

        meta = self._meta(name)
        table = DeltaTable(str(self.path(name)), version=version)
        schema = pa.schema(table.schema().to_arrow())
        return TableInfo(
            name=name,
            location=str(self.path(name)),
            version=table.version(),
            rows=int(table.count()),
            primary_keys=list(meta["primary_keys"]),
            timestamp_key=meta.get("timestamp_key"),
            columns={f.name: str(f.type) for f in schema},
            description=meta.get("description", ""),
        )

    # -- create, write, read, drop -----------------------------------------------------------
    def create_table(
        self,
        name: str,
        primary_keys: str | list[str],
        schema: pa.Schema,
        timestamp_key: str | None = None,
        description: str = "",
    ) -> TableInfo:
        """An empty table with this schema (version 0); an existing one is left as it is when
        its keys agree, else an error."""
        from deltalake import write_deltalake

        keys = [primary_keys] if isinstance(primary_keys, str) else list(primary_keys)
        missing = [
            c for c in [*keys, *([timestamp_key] if timestamp_key else [])] if c not in schema.names
        ]
        if missing:
            raise FeatureTableError(
                f"feature table '{name}': primary key / timestamp key columns {missing} are not in "
                f"its columns {schema.names}"
            )
        path = self.path(name)
        with self._lock(name):
            if self.exists(name):
                meta = self._meta(name)
                if meta["primary_keys"] != keys or meta.get("timestamp_key") != timestamp_key:
                    raise FeatureTableError(
                        f"feature table '{name}' exists with primary keys {meta['primary_keys']} "
                        f"and timestamp key {meta.get('timestamp_key')!r}, not {keys} / "
                        f"{timestamp_key!r}"
                    )
                return self.info(name)
            path.mkdir(parents=True, exist_ok=True)
            meta = {
                "primary_keys": keys,
                "timestamp_key": timestamp_key,
                "description": description,
            }
            tmp = path / f".{META_FILE}.tmp"
            tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
            write_deltalake(str(path), schema.empty_table(), mode="error", name=name.split(".")[-1])
            tmp.replace(path / META_FILE)
        return self.info(name)

    def write_table(
        self,
        name: str,
        data: pd.DataFrame | Iterable[pa.RecordBatch],
        mode: str = "append",
        schema_evolution: bool = False,
        skip_existing_snapshots: bool = False,
    ) -> WriteResult:
        """Append snapshots (``mode="append"``) or upsert rows by primary key and timestamp
        (``mode="merge"``), in one commit.

        Schema is enforced: a column whose type changed is an error naming it; a new column
        needs ``schema_evolution=True``. In append mode a snapshot (timestamp) already in the
        table is a conflict, or skipped with ``skip_existing_snapshots``."""
        if mode not in ("append", "merge"):
            raise FeatureTableError(f"write_table mode {mode!r}: expected 'append' or 'merge'")
        with self._lock(name):
            info = self.info(name)
            batches = _as_batches(data)
            first = next(batches, None)
            if first is None:
                return WriteResult(name, info.version, 0, [])
            schema = _check_schema(info, first.schema, schema_evolution)
            if mode == "merge" or set(schema.names) != set(info.columns):
                frame = pa.Table.from_batches([first, *batches]).to_pandas()
                return self._write_in_memory(info, frame, schema, mode)
            existing = self.snapshot_times(name) if info.timestamp_key else set()
            checked = _SnapshotCheck(info, existing, skip_existing_snapshots)
            from mlrecipes.io.batches import write_delta
            from mlrecipes.process.memory import returnable_memory

            table_schema = pa.schema([pa.field(c, schema.field(c).type) for c in info.columns])
            stream = checked.filter(_chain(first, batches), table_schema)
            with returnable_memory():  # freed batches go back to the OS: memory stays flat
                write_delta(stream, table_schema, Path(info.location), "append", [])
            version = self.info(name).version if checked.rows else info.version
            return WriteResult(name, version, checked.rows, sorted(checked.skipped))

    def _write_in_memory(
        self, info: TableInfo, frame: pd.DataFrame, schema: pa.Schema, mode: str
    ) -> WriteResult:
        """Schema evolution and merges go through delta-rs whole (one commit each)."""
        from deltalake import DeltaTable, write_deltalake

        _check_unique(info, frame)
        path = info.location
        if mode == "merge":
            keys = [*info.primary_keys, *([info.timestamp_key] if info.timestamp_key else [])]
            predicate = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
            (
                DeltaTable(path)
                .merge(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), predicate,
                       source_alias="s", target_alias="t", merge_schema=True)
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )  # fmt: skip
        else:
            existing = self.snapshot_times(info.name) if info.timestamp_key else set()
            clash = _snapshot_values(frame[info.timestamp_key]) & existing if existing else set()
            if clash:
                raise _conflict(info, clash)
            write_deltalake(
                path,
                pa.Table.from_pandas(frame, schema=schema, preserve_index=False),
                mode="append",
                schema_mode="merge",
            )
        return WriteResult(info.name, self.info(info.name).version, len(frame), [])

    def read_table(
        self, name: str, version: int | None = None, columns: list[str] | None = None
    ) -> pd.DataFrame:
        return self.read_arrow(name, version, columns).to_pandas()

    def read_arrow(
        self, name: str, version: int | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        from deltalake import DeltaTable

        self._meta(name)
        table = DeltaTable(str(self.path(name)), version=version)
        return table.to_pyarrow_dataset().to_table(columns=columns)

    def snapshot_times(self, name: str) -> set[str]:
        """The distinct snapshot timestamps in the table (ISO text, UTC)."""
        info = self.info(name)
        if info.timestamp_key is None or info.rows == 0:
            return set()
        import pyarrow.compute as pc
        from deltalake import DeltaTable

        column = (
            DeltaTable(info.location).to_pyarrow_dataset().to_table(columns=[info.timestamp_key])
        )
        values = pc.unique(column.column(0)).to_pandas()
        return _snapshot_values(values)

    def drop_table(self, name: str) -> None:
        import shutil

        path = self.path(name)
        with self._lock(name):
            if path.exists():
                shutil.rmtree(path)

    def tables(self) -> list[str]:
        """Every table under the root, by name."""
        found = []
        for meta in sorted(self.root.rglob(META_FILE)):
            found.append(".".join(meta.parent.relative_to(self.root).parts))
        return found

    def _lock(self, name: str) -> Any:
        from filelock import FileLock

        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{name}.lock"), timeout=LOCK_TIMEOUT_S)


# -- helpers (pure) ----------------------------------------------------------------------------
def _as_batches(data: pd.DataFrame | Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pd.DataFrame):
        if data.empty:
            return iter(())
        return iter(
            pa.Table.from_pandas(data, preserve_index=False).to_batches(max_chunksize=500_000)
        )
    return iter(data)


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


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


def _check_unique(info: TableInfo, frame: pd.DataFrame) -> None:
    keys = [*info.primary_keys, *([info.timestamp_key] if info.timestamp_key else [])]
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
