"""The monitoring table (Delta): one row per window x kind x column x metric, appended in one
commit per monitor run, readable with pandas, Spark or DuckDB; and the scored rows of a window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlrecipes.io.delta_tables import existing_table

SCHEMA = pa.schema(
    [
        ("window", pa.string()),  # the window's scoring time (ISO, UTC)
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("rows", pa.int64()),
        ("kind", pa.string()),  # drift | prediction_drift | estimated_performance | performance
        ("column", pa.string()),  # "" for the whole window
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("threshold", pa.float64()),
        ("status", pa.string()),  # ok | warn | alert | info
        ("computed_at", pa.string()),
    ]
)


def append_rows(
    location: Path, rows: list[dict[str, Any]], schema: pa.Schema = SCHEMA, name: str = ""
) -> int:
    """Append ``rows`` in one Delta commit (all or nothing); returns the table's version. A
    damaged table (data without a log, an unreadable log) stops it before anything is written."""
    from deltalake import write_deltalake

    label = name or "the monitoring table"
    existing_table(location, label)
    if rows:
        location.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=schema)
        write_deltalake(str(location), table, mode="append")
    table = existing_table(location, label)
    return -1 if table is None else table.version()


def read_table(location: Path, schema: pa.Schema = SCHEMA, name: str = "") -> pd.DataFrame:
    """The whole table; an empty one (with ``schema``) when there is none yet."""
    table = existing_table(location, name or "the monitoring table")
    return schema.empty_table().to_pandas() if table is None else table.to_pandas()


def _scored_at(field: pa.Field, scored_at: str) -> pa.Scalar:
    when = pd.Timestamp(scored_at)
    if field.type.tz is None and when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    return pa.scalar(when.to_pydatetime(), type=field.type)


def window_batches(
    scores: Path, scored_at: str, columns: list[str] | None = None, batch_rows: int = 131_072
) -> Iterator[pa.RecordBatch]:
    """The rows of a scoring output (Delta or a parquet folder) scored at ``scored_at``, batch by
    batch: one window, read with a filter (other windows are skipped), in flat memory."""
    import pyarrow.dataset as ds

    if (scores / "_delta_log").is_dir():
        from deltalake import DeltaTable

        dataset = DeltaTable(str(scores)).to_pyarrow_dataset()
    else:
        dataset = ds.dataset(str(scores), format="parquet", partitioning="hive")
    wanted = None if columns is None else [c for c in columns if c in dataset.schema.names]
    value = _scored_at(dataset.schema.field("scored_at"), scored_at)
    scanner = dataset.scanner(
        columns=wanted,
        filter=ds.field("scored_at") == value,
        batch_size=batch_rows,
        batch_readahead=1,  # the defaults buffer millions of rows ahead of the consumer
        fragment_readahead=1,
        # one thread: with the scan's thread pool, memory freed by one thread's allocator arena
        # is not reused by another, and a window's peak grew with its length (1.25x at 10M rows
        # against 1M); the consumer's counting is the bottleneck anyway
        use_threads=False,
    )
    for batch in scanner.to_batches():
        if batch.num_rows:
            yield batch


def spark_window(spark: Any, scores: Path, scored_at: str) -> Any:
    """The same window as a Spark DataFrame (the rows stay on the executors)."""
    from pyspark.sql import functions as F

    if (scores / "_delta_log").is_dir():
        from deltalake import DeltaTable

        frame = spark.read.parquet(*DeltaTable(str(scores)).file_uris())
    else:
        frame = spark.read.parquet(str(scores))
    when = pd.Timestamp(scored_at)
    if when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)  # the session's time zone is UTC
    return frame.where(F.col("scored_at") == F.lit(when.to_pydatetime()))
