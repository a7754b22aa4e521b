"""Pure checks of a training table: the target column and its classes (no I/O)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlrecipes.errors import DatasetError


def check_target(df: pd.DataFrame, target: str, task: str, positive_class: Any, where: str) -> None:
    if target not in df.columns:
        raise DatasetError(
            f"{where}: target column '{target}' not found; columns are {list(df.columns)}"
        )
    values = df[target].dropna()
    if values.empty:
        raise DatasetError(f"{where}: target column '{target}' has no non-null values")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(values):
            raise DatasetError(
                f"{where}: target column '{target}' must be numeric for regression/v1, "
                f"got dtype {values.dtype}"
            )
        return
    classes = sorted(values.unique().tolist(), key=str)
    if len(classes) < 2:
        raise DatasetError(
            f"{where}: target column '{target}' has a single class {classes!r}; "
            "a classifier needs at least two"
        )
    if task == "classification/binary":
        if len(classes) != 2:
            raise DatasetError(
                f"{where}: positive_class is set, so target column '{target}' must have exactly 2 "
                f"classes, found {len(classes)}: {classes[:10]!r}"
            )
        if positive_class not in classes:
            hint = ""
            if str(positive_class) in {str(c) for c in classes}:
                hint = (
                    " (same text, different type: quote or unquote positive_class in recipe.yaml)"
                )
            raise DatasetError(
                f"{where}: positive_class {positive_class!r} is not a value of target column "
                f"'{target}' (values: {classes!r}){hint}"
            )
    elif len(classes) == 2:
        raise DatasetError(
            f"{where}: target column '{target}' has 2 classes {classes!r}; set positive_class in "
            "recipe.yaml for binary classification (multiclass needs more than 2)"
        )
