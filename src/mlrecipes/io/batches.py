"""Streaming table I/O for batch scoring: read and write in batches so memory stays flat.

Sources (an ingest block) are copied batch by batch into one parquet file; outputs (parquet
directories or Delta tables) are written from an iterator of Arrow record batches.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlrecipes.errors import DatasetError
from mlrecipes.io.fingerprint import resolve_sources
from mlrecipes.io.formats import data_format, parquet_reader
from mlrecipes.io.sources import IngestConfig
from mlrecipes.process.memory import release_free_memory


def iter_source_batches(
    cfg: IngestConfig, root: Path, block: str, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Record batches of an ingest source (csv, parquet, delta), without loading it whole."""
    fmt = data_format(cfg.using)
    assert fmt is not None, cfg.using
    for path in resolve_sources(cfg, root, block).paths:
        yield from fmt.batches(path, cfg, batch_rows)


def copy_to_parquet(
    batches: Iterator[pa.RecordBatch], out_path: Path, block: str, source: str = ""
) -> tuple[int, pa.Schema]:
    """Write batches to one parquet file; all batches must share the first batch's schema."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    schema = None
    try:
        for batch in batches:
            release_free_memory()
            if writer is None:
                schema = batch.schema.remove_metadata()
                writer = pq.ParquetWriter(out_path, schema)
            try:
                batch = batch.cast(schema) if batch.schema.remove_metadata() != schema else batch
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise DatasetError(
                    f"steps.{block}: a later batch has a different schema: {exc}"
                ) from exc
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None or rows == 0:
        raise DatasetError(
            f"steps.{block}.location: the data at {source or out_path.name} has no rows"
        )
    return rows, schema  # type: ignore[return-value]


def streamed(
    dataset: Any, batch_rows: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """A pyarrow dataset's batches, one at a time (its default scan reads 16 batches and 4 files
    ahead on a thread pool), freed pages handed back between them: what Spark staged is
    committed with the driver holding about a batch (the staged files are cut at a batch's
    rows, ``maxRecordsPerFile``: a parquet row group is read whole)."""
    for batch in dataset.to_batches(
        columns=columns, batch_size=batch_rows, batch_readahead=1, fragment_readahead=1,
        use_threads=False,
    ):  # fmt: skip
        release_free_memory()
        yield batch


def iter_parquet_frames(
    path: Path, batch_rows: int, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    for batch in parquet_reader(path).iter_batches(batch_size=batch_rows, columns=columns):
        yield batch.to_pandas()


def parquet_schema(path: Path) -> pa.Schema:
    return pq.read_schema(path)


def parquet_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def _output_exists(location: Path, using: str) -> bool:
    if using == "delta":
        return (location / "_delta_log").is_dir()
    return location.exists() and any(location.iterdir()) if location.is_dir() else location.exists()


def writer_mode(save_mode: str) -> str:
    """A save mode as writers spell it (``default`` and ``errorifexists`` are ``error``)."""
    return {"default": "error", "errorifexists": "error"}.get(save_mode, save_mode)


def output_writable(using: str, location: Path, save_mode: str) -> bool:
    """The checks before any write to an output, whoever writes it (this process, or Spark
    itself when it can write Delta): a Delta folder whose data has no log is refused (it is
    not empty), an existing output with ``save_mode: error`` is refused, and ``ignore`` over
    an existing output writes nothing (False)."""
    mode = writer_mode(save_mode)
    if using == "delta" and mode != "overwrite":
        from mlrecipes.io.delta_tables import existing_table

        existing_table(location, "the scoring output")  # data without a log is not empty
    if _output_exists(location, using):
        if mode == "error":
            raise DatasetError(
                f"predict output {location} already exists and save_mode is {save_mode}"
            )
        if mode == "ignore":
            return False
    return True


def write_batches(
    batches: Iterator[pa.RecordBatch],
    schema: pa.Schema,
    using: str,
    location: Path,
    save_mode: str,
    partition_by: list[str] | None = None,
) -> int:
    """Write record batches to a parquet directory or a Delta table; returns rows written.

    Nothing becomes visible unless every batch was written: parquet goes to a temporary folder
    renamed into place, and a Delta commit happens only after the last batch.
    """
    mode = writer_mode(save_mode)
    if not output_writable(using, location, save_mode):
        return 0
    counter = _CountingBatches(batches)
    if using == "delta":
        write_delta(counter, schema, location, mode, partition_by or [])
        return counter.rows
    _write_parquet_dir(counter, schema, location, mode, partition_by)
    return counter.rows


ROWS_PER_FILE = 1_000_000


# parquet outputs store timestamps in microseconds, so Spark can read them (see below)
MICROSECONDS = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}


def _delta_timestamps(schema: pa.Schema) -> pa.Schema:
    """Timestamps in microseconds, as Delta defines them: Spark (and Databricks) refuse to read
    parquet files holding nanosecond timestamps, which pandas produces by default."""
    fields = [
        f.with_type(pa.timestamp("us", f.type.tz)) if pa.types.is_timestamp(f.type) else f
        for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def write_delta(
    batches: Iterator[pa.RecordBatch],
    schema: pa.Schema,
    location: Path,
    mode: str,
    partition_by: list[str],
    commit_metadata: Callable[[], dict[str, str]] | None = None,
) -> None:
    """Stream batches into parquet files inside the table, then commit them in one transaction
    (with ``commit_metadata()``, asked once the stream is consumed, as its custom metadata).

    ``write_deltalake`` buffers a growing share of the stream in memory; writing the files here
    keeps memory flat, and the single commit keeps the table unchanged if anything fails first.
    """
    location.mkdir(parents=True, exist_ok=True)
    schema = _delta_timestamps(schema)
    parts = _PartFiles(location, pa.schema([f for f in schema if f.name not in partition_by]))
    try:
        for batch in batches:
            parts.add(batch, {c: _single_value(batch, c) for c in partition_by})
        parts.close()
        metadata = commit_metadata() if commit_metadata is not None else None
        _commit(location, schema, parts.written, mode, partition_by, metadata)
    except BaseException:
        parts.remove()
        raise


class _PartFiles:
    """Parquet part files inside a Delta table's folder: one set of partition values per file,
    at most ``ROWS_PER_FILE`` rows each. ``written``: (path, partition values, rows)."""

    def __init__(self, location: Path, file_schema: pa.Schema):
        self.location, self.file_schema = location, file_schema
        self.written: list[tuple[Path, dict[str, str | None], int]] = []
        self.writer: pq.ParquetWriter | None = None
        self.current: Path | None = None
        self.rows = 0
        self.values: dict[str, str | None] = {}
        self.stamp = uuid.uuid4().hex

    def add(self, batch: pa.RecordBatch, values: dict[str, str | None]) -> None:
        if self.writer is not None and (self.rows >= ROWS_PER_FILE or values != self.values):
            self.close()
        if self.writer is None:
            self.values, self.rows = values, 0
            folder = self.location.joinpath(*[f"{k}={v}" for k, v in values.items()])
            folder.mkdir(parents=True, exist_ok=True)
            self.current = folder / f"part-{self.stamp}-{len(self.written):05d}.parquet"
            self.writer = pq.ParquetWriter(self.current, self.file_schema)
        # safe=False: sub-microsecond digits are dropped (Delta cannot hold them)
        names = self.file_schema.names
        self.writer.write_batch(batch.select(names).cast(self.file_schema, safe=False))
        self.rows += batch.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            assert self.current is not None
            self.written.append((self.current, dict(self.values), self.rows))
            self.writer = None

    def remove(self) -> None:
        """Every file this write made (nothing was committed: the table is unchanged)."""
        if self.writer is not None:
            self.writer.close()
        for path, _, _ in self.written:
            path.unlink(missing_ok=True)
        if self.current is not None:
            self.current.unlink(missing_ok=True)


def _commit(
    location: Path,
    schema: pa.Schema,
    written: list[tuple[Path, dict[str, str | None], int]],
    mode: str,
    partition_by: list[str],
    metadata: dict[str, str] | None = None,
) -> None:
    """One Delta transaction adding the part files (creating the table when there is none)."""
    import json
    import time

    from deltalake import CommitProperties, DeltaTable, Schema
    from deltalake.transaction import AddAction, create_table_with_add_actions

    properties = CommitProperties(custom_metadata=metadata) if metadata else None

    now_ms = int(time.time() * 1000)
    actions = [
        AddAction(
            path=str(path.relative_to(location)),
            size=path.stat().st_size,
            partition_values=part_values,
            modification_time=now_ms,
            data_change=True,
            stats=json.dumps({"numRecords": rows}),
        )
        for path, part_values, rows in written
    ]
    delta_mode = "overwrite" if mode == "overwrite" else "append"
    if (location / "_delta_log").is_dir():
        DeltaTable(str(location)).create_write_transaction(
            actions, mode=delta_mode, schema=schema, partition_by=partition_by or None,
            commit_properties=properties,
        )  # fmt: skip
    else:
        create_table_with_add_actions(
            str(location), Schema.from_arrow(schema), actions, mode=delta_mode,
            partition_by=partition_by or None, commit_properties=properties,
        )  # fmt: skip


def _single_value(batch: pa.RecordBatch, column: str) -> str | None:
    import pyarrow.compute as pc

    distinct = pc.unique(batch.column(column))
    if len(distinct) != 1:
        raise DatasetError(f"partition column '{column}' must hold one value per batch")
    value = distinct[0].as_py()
    return None if value is None else str(value)


class _CountingBatches:
    def __init__(self, batches: Iterator[pa.RecordBatch]):
        self._batches = batches
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self.rows += batch.num_rows
            yield batch


def _write_parquet_dir(
    batches: _CountingBatches,
    schema: pa.Schema,
    location: Path,
    mode: str,
    partition_by: list[str] | None,
) -> None:
    location.parent.mkdir(parents=True, exist_ok=True)
    staging = location.parent / f".{location.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        stamp = uuid.uuid4().hex[:8]
        if partition_by:
            import pyarrow.dataset as ds

            options = ds.ParquetFileFormat().make_write_options(**MICROSECONDS)
            ds.write_dataset(
                batches, staging, schema=schema, format="parquet", partitioning=partition_by,
                partitioning_flavor="hive", basename_template=f"part-{stamp}-{{i}}.parquet",
                file_options=options,
            )  # fmt: skip
        else:
            path = staging / f"part-{stamp}-0.parquet"
            with pq.ParquetWriter(path, schema, **MICROSECONDS) as writer:
                for batch in batches:
                    writer.write_batch(batch)
        if mode == "overwrite" or not location.exists():
            old = None
            if location.exists():
                old = location.parent / f".{location.name}.old-{uuid.uuid4().hex[:8]}"
                os.rename(location, old)
            os.rename(staging, location)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        else:
            for file in staging.rglob("*.parquet"):
                target = location / file.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(file, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_output(using: str, location: Path) -> pd.DataFrame:
    if using == "delta":
        from deltalake import DeltaTable

        return DeltaTable(str(location)).to_pandas()
    return pd.read_parquet(location)
