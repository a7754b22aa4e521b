"""Parquet in and out for the execution directory (the format steps exchange data in)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_frame(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, engine="pyarrow", index=False)


def read_frame(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path, engine="pyarrow")
