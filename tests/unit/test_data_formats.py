"""A data format is one entry in io/formats.py's FORMATS: the source blocks accept it, ingest
reads it whole or in batches, and the cache fingerprints it, with nothing else to change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from mlrecipes.errors import DatasetError
from mlrecipes.io import formats
from mlrecipes.io.batches import iter_source_batches
from mlrecipes.io.datasets import read_dataset
from mlrecipes.io.fingerprint import fingerprint
from mlrecipes.io.sources import IngestConfig


def _read_tsv(path: Path, cfg: formats.SourceOptions) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def _tsv_batches(path: Path, cfg: formats.SourceOptions, rows: int) -> Iterator[pa.RecordBatch]:
    for chunk in pd.read_csv(path, sep="\t", chunksize=rows):
        yield pa.RecordBatch.from_pandas(chunk, preserve_index=False)


def test_a_new_format_is_one_entry_in_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = pd.DataFrame({"id": [1, 2, 3], "y": ["a", "b", "a"]})
    (tmp_path / "data").mkdir()
    table.to_csv(tmp_path / "data" / "part.tsv", sep="\t", index=False)
    tsv = formats.DataFormat("tsv", _read_tsv, _tsv_batches, formats.FORMATS["csv"].fingerprint)
    monkeypatch.setitem(formats.FORMATS, "tsv", tsv)

    cfg = IngestConfig(using="tsv", location="data")  # a folder: globbed for *.tsv
    assert read_dataset(cfg, tmp_path, "ingest").equals(table)
    batches = list(iter_source_batches(cfg, tmp_path, "ingest", 2))
    assert [b.num_rows for b in batches] == [2, 1]
    found = fingerprint(cfg, tmp_path, "ingest")
    assert [Path(f["path"]).name for f in found["files"]] == ["part.tsv"]

    monkeypatch.undo()
    with pytest.raises(ValueError, match="using: tsv is a custom format and needs loader_method"):
        IngestConfig(using="tsv", location="data")
    with pytest.raises(DatasetError):
        read_dataset(IngestConfig(using="csv", location="data"), tmp_path, "ingest")
