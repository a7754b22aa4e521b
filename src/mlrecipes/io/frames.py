"""Parquet in and out for the execution directory (the format steps exchange data in)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_frame(df: pd.DataFrame, path: Path, keep_index: bool = False) -> None:
    """``keep_index``: store the index too (as MLflow Recipes' ``dataset.parquet`` did: the split
    hashes it), a RangeIndex as metadata only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, engine="pyarrow", index=None if keep_index else False)


def read_frame(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path, engine="pyarrow")
