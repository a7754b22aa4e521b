"""Pure checks of a training table: the target column and its classes (no I/O)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlrecipes.errors import DatasetError
from mlrecipes.stats.text_numbers import numbers_in_text


def check_target(df: pd.DataFrame, target: str, task: str, positive_class: Any, where: str) -> None:
    if target not in df.columns:
        raise DatasetError(
            f"{where}: target column '{target}' not found; columns are {list(df.columns)}"
            + delimiter_hint([str(c) for c in df.columns])
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


def delimiter_hint(columns: list[str]) -> str:
    """When a whole header came back as one column holding ``;``, ``|`` or tabs, say so: every
    column "missing" is then a delimiter problem, not a data problem."""
    if len(columns) != 1:
        return ""
    for sep, name in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        if sep in columns[0]:
            return (
                f" (the file was read as a single column {columns[0][:80]!r}: it is probably "
                f"delimited by {name}, not ','; write it with commas, or read it with a custom "
                "loader_method)"
            )
    return ""


def check_numeric_columns(df: pd.DataFrame, where: str, skip: tuple[str, ...] = ()) -> None:
    """A text column whose values are numbers except a stray few (``abc`` in MonthlyCharges)
    is a data error: name the column, the row and the value before the transformer's fit
    fails with scikit-learn's message. Blanks are missing values, not strays."""
    for column in df.columns:
        if column in skip or not pd.api.types.is_object_dtype(df[column]):
            continue
        text = df[column].dropna().astype(str).str.strip()
        text = text[text != ""]
        if len(text) < 20:
            continue
        parsed = pd.to_numeric(text, errors="coerce")
        bad = parsed.isna()
        n_bad = int(bad.sum())
        if 0 < n_bad <= max(1, len(text) // 50):
            first = bad.idxmax()
            row = df.index.get_loc(first)
            examples = ", ".join(repr(v) for v in text[bad].unique()[:3])
            raise DatasetError(
                f"{where}: column '{column}' holds numbers except {n_bad} value(s) ({examples}); "
                f"first at data row {int(row) + 1} ({text[first]!r}); fix or blank them"
            )


def check_declared_numeric(df: pd.DataFrame, columns: list[str], where: str) -> None:
    """Columns the recipe declares numeric (``numeric_columns``) must hold numbers: numeric
    values, or text that reads as numbers (blanks are missing values). Without this, a column
    delivered as words ("twelve months") is one-hot encoded as a category, and only the
    validation thresholds notice, with no word about the column."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DatasetError(
            f"{where}.numeric_columns: {missing} are not in the data (columns: {list(df.columns)})"
        )
    for column in columns:
        values = df[column]
        if pd.api.types.is_bool_dtype(values) or not (
            pd.api.types.is_numeric_dtype(values)
            or pd.api.types.is_object_dtype(values)
            or pd.api.types.is_string_dtype(values)
        ):
            raise DatasetError(
                f"{where}: column '{column}' is declared numeric (numeric_columns) but holds "
                f"{values.dtype} values; expected numbers"
            )
        if pd.api.types.is_numeric_dtype(values):
            continue
        text = values.dropna().astype(str).str.strip()
        text = text[text != ""]
        bad = text[pd.to_numeric(text, errors="coerce").isna()]
        if bad.empty:
            continue
        examples = ", ".join(repr(v) for v in bad.unique()[:3])
        count = "none" if len(bad) == len(text) else f"{len(text) - len(bad)}"
        raise DatasetError(
            f"{where}: column '{column}' is declared numeric (numeric_columns) but {count} of "
            f"its {len(text)} non-blank values are numbers (not numbers: {examples}; first at "
            f"data row {df.index.get_loc(bad.index[0]) + 1}); expected numbers (blanks are "
            "read as missing)"
        )


def is_identifier(series: pd.Series) -> bool:
    """A column naming each row (``customerID``): text with a distinct value in every row.
    Comparing its distribution between splits or over time says nothing."""
    values = series.dropna()
    if len(values) < 20 or numbers_in_text(series) is not None:
        return False
    return (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)) and (
        values.nunique() == len(values)
    )
