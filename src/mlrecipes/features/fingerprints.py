"""What a snapshot was made of, so a snapshot delivered again can be told from one delivered
once (#31, 9: a month's file first landed half uploaded, then complete under the same date).

Each source row gets a 64-bit hash of all its raw columns (before featurization, so changing
``steps/features.py`` does not make old snapshots look changed). A snapshot's print is its row
count and the sum of its rows' hashes modulo 2**64: independent of row order and of how the
rows were split into batches, so it is accumulated batch by batch without holding a snapshot.
Prints are recorded in the custom metadata of the Delta commit that wrote the rows (one atomic
unit with the data: no crash window between them). Pure: frames and batches in, values out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

# The hidden column carrying each feature and label row's source-row hash to the write; it is
# never written to a table.
ROW_HASH = "__mlrecipes_source_row_hash__"
COMMIT_KEY = "mlrecipes.snapshot_prints"
_MOD = 2**64
NULL_TIME = -(2**63)


@dataclass(frozen=True)
class SnapshotPrint:
    rows: int = 0
    total: int = 0  # sum of row hashes modulo 2**64

    def __add__(self, other: SnapshotPrint) -> SnapshotPrint:
        return SnapshotPrint(self.rows + other.rows, (self.total + other.total) % _MOD)


def source_row_hashes(raw: pd.DataFrame) -> np.ndarray:
    """One int64 per raw row: its columns in name order, each value by what it means, not by
    how a reader typed it. A CSV folder read whole types a column by all its files (TotalCharges
    is text in a month with blanks, float in one without), so a value that reads as a number
    hashes as that number and anything else as its trimmed text; blanks are missing."""
    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    combined = np.zeros(len(raw), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, name in enumerate(sorted(raw.columns, key=str)):
            combined = (combined * np.uint64(0x9E3779B97F4A7C15) + _value_hashes(raw[name])) & mask
            combined = (combined + np.uint64(i)) & mask
            combined ^= combined >> np.uint64(29)
    return combined.view(np.int64)


def _value_hashes(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        numbers = column.astype(float)
        text = pd.Series(pd.NA, index=column.index, dtype="string")
    else:
        text = column.astype("string").str.strip()
        text = text.mask(text == "")
        numbers = pd.to_numeric(text, errors="coerce").astype(float)
    words = pd.util.hash_pandas_object(text.fillna("\x00<NA>"), index=False).to_numpy()
    bits = numbers.fillna(0.0).to_numpy(dtype=float).view(np.uint64) ^ np.uint64(0x5BD1E995)
    return np.where(numbers.notna().to_numpy(), bits, words).astype(np.uint64)


def snapshot_ids(batch: pa.RecordBatch, timestamp_key: str) -> np.ndarray:
    """Each row's snapshot as int64 microseconds since the epoch (UTC)."""
    column = batch.column(timestamp_key)
    tz = column.type.tz if pa.types.is_timestamp(column.type) else "UTC"
    micros = column.cast(pa.timestamp("us", tz), safe=False)  # nanoseconds: truncated
    # a null time gets a value of its own; the write refuses null keys right after
    return micros.cast(pa.int64()).fill_null(NULL_TIME).to_numpy(zero_copy_only=False)


def snapshot_iso(micros: int) -> str:
    """The snapshot's name as everywhere else (``2026-01-31T00:00:00+00:00``)."""
    return pd.Timestamp(int(micros), unit="us", tz="UTC").isoformat()


def snapshot_micros(iso: str) -> int:
    stamp = pd.Timestamp(iso)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1000)


def row_hashes(batch: pa.RecordBatch, columns: list[str]) -> np.ndarray:
    """The source-row hashes a batch carries, else (data written through the client API, with no
    source) the hash of its own ``columns``."""
    if ROW_HASH in batch.schema.names:
        return batch.column(ROW_HASH).to_numpy(zero_copy_only=False).astype(np.int64)
    return key_hashes(batch, columns).view(np.int64)


def prints_of(
    ids: np.ndarray, hashes: np.ndarray, mask: np.ndarray | None = None
) -> dict[int, SnapshotPrint]:
    """The print of each snapshot among the rows (``mask``: only those rows)."""
    if mask is not None:
        ids, hashes = ids[mask], hashes[mask]
    found: dict[int, SnapshotPrint] = {}
    for snapshot in np.unique(ids):
        chosen = hashes[ids == snapshot].view(np.uint64)
        total = int(chosen.sum(dtype=np.uint64))  # wraps modulo 2**64, as meant
        found[int(snapshot)] = SnapshotPrint(int(chosen.size), total)
    return found


def merge_prints(into: dict[int, SnapshotPrint], more: dict[int, SnapshotPrint]) -> None:
    for snapshot, found in more.items():
        into[snapshot] = into.get(snapshot, SnapshotPrint()) + found


def encode(prints: dict[int, SnapshotPrint | None]) -> str:
    """The commit metadata value; ``None``: the snapshot's content is no longer known (a merge
    rewrote rows), so a delivery of it cannot be verified."""
    return json.dumps(
        {
            snapshot_iso(s): None if p is None else [p.rows, format(p.total, "016x")]
            for s, p in sorted(prints.items())
        }
    )


def recorded_prints(history: Iterable[dict[str, Any]]) -> dict[int, SnapshotPrint | None]:
    """Each snapshot's print as its latest commit recorded it (``history`` newest first, as
    ``DeltaTable.history()`` gives it); snapshots never recorded are absent."""
    found: dict[int, SnapshotPrint | None] = {}
    for commit in history:
        value = commit.get(COMMIT_KEY)
        if not value:
            continue
        for iso, entry in json.loads(value).items():
            snapshot = snapshot_micros(iso)
            if snapshot not in found:
                found[snapshot] = (
                    None if entry is None else SnapshotPrint(entry[0], int(entry[1], 16))
                )
    return found


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
