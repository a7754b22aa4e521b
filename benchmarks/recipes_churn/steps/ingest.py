"""Loader for `using: csv` (MLflow Recipes needs a loader for CSV; mlrecipes accepts one too)."""

import pandas as pd


def load_file_as_dataframe(file_path: str, file_format: str) -> pd.DataFrame:
    if file_format == "csv":
        return pd.read_csv(file_path)
    raise NotImplementedError
