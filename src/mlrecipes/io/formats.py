"""The data formats an ingest block can name, in one registry: how to read one source whole, how
to stream it in record batches, and how to fingerprint it for the cache.

Adding a format is adding one :class:`DataFormat` to :data:`FORMATS`; ingest, ingest_scoring,
the cache and the up-to-date manifest all go through it. Imports of pandas, pyarrow and deltalake
happen inside the functions, so the configuration can list the names without loading them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class SourceOptions(Protocol):
    """What a reader takes from a source block (an ``io.sources.IngestConfig`` is one): the
    version or timestamp of a table to time-travel to."""

    version: int | None
    timestamp: str | None


@dataclass(frozen=True)
class DataFormat:
    name: str
    read: Callable[[Path, SourceOptions], pd.DataFrame]
    batches: Callable[[Path, SourceOptions, int], Iterator[pa.RecordBatch]]
    fingerprint: Callable[[Path, SourceOptions], dict[str, Any]]
    # a table is one folder with a transaction log; other formats are files (a folder is globbed)
    is_table: bool = False

    @property
    def pattern(self) -> str:
        return f"*.{self.name}"


def _file_fingerprint(path: Path, cfg: SourceOptions) -> dict[str, Any]:
    from mlrecipes.io.hashing import hash_file

    stat = path.stat()
    return {
        "path": str(path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": hash_file(path),
    }


def _read_csv(path: Path, cfg: SourceOptions) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(path)


def _csv_batches(path: Path, cfg: SourceOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """CSV chunks with every column as text (missing values as nulls).

    Types inferred from the first chunk broke on a blank after it, and on a numeric column
    whose training data held blanks (the model's signature types it as text); predict converts
    each column to the model's own type instead (``scoring.coerce_frame``).
    """
    import pandas as pd
    import pyarrow as pa

    for chunk in pd.read_csv(path, chunksize=batch_rows, dtype=str):
        chunk = chunk.astype(object).where(chunk.notna(), None)
        yield pa.RecordBatch.from_pandas(chunk, preserve_index=False)


def _read_parquet(path: Path, cfg: SourceOptions) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(path, engine="pyarrow")


def parquet_reader(path: Path) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` for batch reading.

    pre_buffer keeps read-ahead buffers whose footprint grew with the file (peak RSS 1.37x from
    1M to 10M rows); without it, reading batch by batch stays flat.
    """
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False)


def _parquet_batches(path: Path, cfg: SourceOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    yield from parquet_reader(path).iter_batches(batch_size=batch_rows)


def _delta_table(path: Path, cfg: SourceOptions) -> Any:
    from deltalake import DeltaTable

    table = DeltaTable(str(path), version=cfg.version)
    if cfg.timestamp is not None:
        table.load_as_version(cfg.timestamp)
    return table


def _read_delta(path: Path, cfg: SourceOptions) -> pd.DataFrame:
    return _delta_table(path, cfg).to_pandas()


def _delta_batches(path: Path, cfg: SourceOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    yield from _delta_table(path, cfg).to_pyarrow_dataset().to_batches(batch_size=batch_rows)


def _delta_fingerprint(path: Path, cfg: SourceOptions) -> dict[str, Any]:
    return {"path": str(path), "delta_version": _delta_table(path, cfg).version()}


FORMATS: dict[str, DataFormat] = {
    "csv": DataFormat("csv", _read_csv, _csv_batches, _file_fingerprint),
    "parquet": DataFormat("parquet", _read_parquet, _parquet_batches, _file_fingerprint),
    "delta": DataFormat("delta", _read_delta, _delta_batches, _delta_fingerprint, is_table=True),
}


def data_format(name: str) -> DataFormat | None:
    """The native format ``name`` (None: a custom format read by a loader_method)."""
    return FORMATS.get(name)
