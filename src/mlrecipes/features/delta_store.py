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
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlrecipes.errors import FeatureTableError
from mlrecipes.features.fingerprints import (
    COMMIT_KEY,
    ROW_HASH,
    SnapshotPrint,
    encode,
    key_hashes,
    merge_prints,
    prints_of,
    recorded_prints,
    row_hashes,
    snapshot_ids,
    snapshot_micros,
)
from mlrecipes.features.table_info import TableInfo
from mlrecipes.features.write_checks import (
    _check_schema,
    _check_unique,
    _conflict,
    _snapshot_values,
    _SnapshotCheck,
)
from mlrecipes.io.atomic import write_text_atomic
from mlrecipes.process.faults import fault_point

META_FILE = "_mlrecipes_feature_table.json"


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")


LOCK_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int  # after the write (unchanged when nothing was written)
    rows: int
    skipped_snapshots: list[str]
    completed_snapshots: dict[str, int] = field(default_factory=dict)  # snapshot: rows added


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
            table = self._unrecorded(name, schema)
            path.mkdir(parents=True, exist_ok=True)
            meta = {
                "primary_keys": keys,
                "timestamp_key": timestamp_key,
                "description": description,
            }
            # The metadata first, then the table: killed in between, the folder holds metadata
            # and no log, which the next run simply completes (the other order left a table
            # every later run refused as "already exists").
            write_text_atomic(path / META_FILE, json.dumps(meta, indent=1))
            fault_point("features.table_metadata_written")
            if table is None:
                write_deltalake(
                    str(path), schema.empty_table(), mode="error", name=name.split(".")[-1]
                )
        return self.info(name)

    def _unrecorded(self, name: str, schema: pa.Schema) -> Any:
        """A Delta table at ``name``'s folder without its metadata file: an empty one with this
        schema is a creation interrupted by an earlier version of mlrecipes (table first, then
        metadata), adopted; anything else is refused, naming the folder. None: no table yet."""
        from mlrecipes.errors import DatasetError
        from mlrecipes.io.delta_tables import existing_table

        path = self.path(name)
        try:
            table = existing_table(path, f"feature table '{name}'")
        except DatasetError as exc:
            raise FeatureTableError(str(exc)) from None
        if table is None:
            return None
        found = pa.schema(table.schema().to_arrow())
        if table.version() == 0 and table.count() == 0 and found.names == schema.names:
            return table
        raise FeatureTableError(
            f"feature table '{name}': {path} holds a Delta table (version {table.version()}, "
            f"{table.count()} rows, columns {found.names}) but no {META_FILE}: it was not "
            "created here as a feature table, or its metadata file was removed; restore the "
            "file, or move the folder away to create the table afresh"
        )

    def write_table(
        self,
        name: str,
        data: pd.DataFrame | Iterable[pa.RecordBatch],
        mode: str = "append",
        schema_evolution: bool = False,
        skip_existing_snapshots: bool = False,
        complete_snapshots: Collection[str] = (),
    ) -> WriteResult:
        """Append snapshots (``mode="append"``) or upsert rows by primary key and timestamp
        (``mode="merge"``), in one commit.

        Schema is enforced: a column whose type changed is an error naming it; a new column
        needs ``schema_evolution=True``. In append mode a snapshot (timestamp) already in the
        table is a conflict, or skipped with ``skip_existing_snapshots``; skipped, but delivered
        with other content than recorded, it is :class:`SnapshotsRedelivered`, and written
        again with it in ``complete_snapshots`` its missing rows are added (the rows already
        written must be delivered unchanged)."""
        if mode not in ("append", "merge"):
            raise FeatureTableError(f"write_table mode {mode!r}: expected 'append' or 'merge'")
        with self._lock(name):
            info = self.info(name)
            batches = _as_batches(data)
            first = next(batches, None)
            if first is None:
                return WriteResult(name, info.version, 0, [])
            incoming = _without(first.schema, ROW_HASH)
            schema = _check_schema(info, incoming, schema_evolution)
            if mode == "merge" or set(schema.names) != set(info.columns):
                frame = pa.Table.from_batches([first, *batches]).to_pandas()
                return self._write_in_memory(info, frame, schema, mode)
            existing = self.snapshot_times(name) if info.timestamp_key else set()
            recorded = self.snapshot_prints(name) if existing else {}
            reopened = self._known_keys(info, complete_snapshots, existing, recorded)
            checked = _SnapshotCheck(info, existing, skip_existing_snapshots, recorded, reopened)
            from mlrecipes.io.batches import write_delta
            from mlrecipes.process.memory import returnable_memory

            table_schema = pa.schema([pa.field(c, schema.field(c).type) for c in info.columns])
            stream = checked.filter(_chain(first, batches), table_schema)
            with returnable_memory():  # freed batches go back to the OS: memory stays flat
                write_delta(
                    stream, table_schema, Path(info.location), "append", [],
                    commit_metadata=lambda: {COMMIT_KEY: encode(checked.commit_prints())},
                )  # fmt: skip
            version = self.info(name).version if checked.rows else info.version
            return WriteResult(
                name, version, checked.rows, sorted(checked.skipped), dict(checked.completed)
            )

    def snapshot_prints(self, name: str) -> dict[int, SnapshotPrint | None]:
        """Each snapshot's print as recorded by the commits that wrote it."""
        from deltalake import DeltaTable

        return recorded_prints(DeltaTable(str(self.path(name))).history())

    def _known_keys(
        self,
        info: TableInfo,
        complete: Collection[str],
        existing: set[str],
        recorded: dict[int, SnapshotPrint | None],
    ) -> dict[int, Any]:
        """Sorted key hashes of each snapshot to complete that has a recorded print (read only
        when a delivery changed, so a normal run never reads the table's keys)."""
        import numpy as np
        from deltalake import DeltaTable

        wanted = {snapshot_micros(s) for s in complete} & {snapshot_micros(s) for s in existing}
        wanted = {s for s in wanted if recorded.get(s) is not None}
        if not wanted or info.timestamp_key is None:
            return {}
        found: dict[int, list[Any]] = {s: [] for s in wanted}
        dataset = DeltaTable(info.location).to_pyarrow_dataset()
        for batch in dataset.to_batches(columns=[*info.primary_keys, info.timestamp_key]):
            ids = snapshot_ids(batch, info.timestamp_key)
            hashes = key_hashes(batch, info.primary_keys)
            for snapshot in wanted:
                found[snapshot].append(hashes[ids == snapshot])
        return {s: np.sort(np.concatenate(parts)) for s, parts in found.items()}

    def _write_in_memory(
        self, info: TableInfo, frame: pd.DataFrame, schema: pa.Schema, mode: str
    ) -> WriteResult:
        """Schema evolution and merges go through delta-rs whole (one commit each)."""
        from deltalake import CommitProperties, DeltaTable, write_deltalake

        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        frame = frame.drop(columns=[ROW_HASH], errors="ignore")
        _check_unique(info, frame)
        path = info.location
        found: dict[int, SnapshotPrint] = {}
        if info.timestamp_key:
            for batch in arrow.to_batches():
                ids = snapshot_ids(batch, info.timestamp_key)
                merge_prints(found, prints_of(ids, row_hashes(batch, schema.names)))
        # a merge rewrites rows: the content of the snapshots it touched is no longer known
        prints = dict.fromkeys(found) if mode == "merge" else dict(found)
        properties = CommitProperties(custom_metadata={COMMIT_KEY: encode(prints)})
        if mode == "merge":
            keys = [*info.primary_keys, *([info.timestamp_key] if info.timestamp_key else [])]
            predicate = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
            (
                DeltaTable(path)
                .merge(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), predicate,
                       source_alias="s", target_alias="t", merge_schema=True,
                       commit_properties=properties)
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
                commit_properties=properties,
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
            name = ".".join(meta.parent.relative_to(self.root).parts)
            if (meta.parent / "_delta_log").is_dir():  # else a creation that never finished
                found.append(name)
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


def _without(schema: pa.Schema, name: str) -> pa.Schema:
    index = schema.get_field_index(name)
    return schema if index < 0 else schema.remove(index)
