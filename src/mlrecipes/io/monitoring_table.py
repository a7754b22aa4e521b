"""The monitoring table (Delta): one row per window x kind x column x metric, appended in one
commit per monitor run, readable with pandas, Spark or DuckDB; and the scored rows of a window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

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


def append_rows(location: Path, rows: list[dict[str, Any]]) -> int:
    """Append ``rows`` in one Delta commit (all or nothing); returns the table's version."""
    from deltalake import DeltaTable, write_deltalake

    if rows:
        location.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        write_deltalake(str(location), table, mode="append")
    if not (location / "_delta_log").is_dir():
        return -1
    return DeltaTable(str(location)).version()


def read_table(location: Path) -> pd.DataFrame:
    if not (location / "_delta_log").is_dir():
        return SCHEMA.empty_table().to_pandas()
    from deltalake import DeltaTable

    return DeltaTable(str(location)).to_pandas()


def rows_scored_at(scores: Path, scored_at: str) -> pd.DataFrame:
    """The rows of a scoring output (Delta or a parquet folder) scored at ``scored_at``: one
    window, read with a filter (the other windows are not loaded)."""
    import pyarrow.dataset as ds

    if (scores / "_delta_log").is_dir():
        from deltalake import DeltaTable

        dataset = DeltaTable(str(scores)).to_pyarrow_dataset()
    else:
        dataset = ds.dataset(str(scores), format="parquet", partitioning="hive")
    field = dataset.schema.field("scored_at")
    when = pd.Timestamp(scored_at)
    if field.type.tz is None and when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    value = pa.scalar(when.to_pydatetime(), type=field.type)
    return dataset.to_table(filter=ds.field("scored_at") == value).to_pandas()
