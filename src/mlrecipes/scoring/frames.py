"""Pure helpers of batch scoring, shared by both engines: input checks against the model's
schema, conversions to the model's types, and output rows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from mlrecipes.tracking.models import ResolvedModel

# MLflow signature types grouped by what a scoring column must hold.
_KIND_OF_MLFLOW_TYPE = {
    "string": "string",
    "binary": "binary",
    "boolean": "boolean",
    "integer": "integer",
    "long": "integer",
    "float": "floating",
    "double": "floating",
    "datetime": "datetime",
}


def arrow_kind(dtype: pa.DataType) -> str:
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    ):
        return "string"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "floating"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "datetime"
    if pa.types.is_binary(dtype):
        return "binary"
    if pa.types.is_null(dtype):
        return "null"
    return str(dtype)


# What a scoring column may be converted from, by the kind the model expects. The training data
# decides the signature: a column of numbers with a few blanks is a string column, and a scoring
# batch without blanks (read as numbers) must still be accepted; and CSV columns arrive as text.
_CONVERTIBLE = {
    "string": {"integer", "floating", "boolean"},
    "floating": {"integer", "string"},
    "integer": {"floating", "string"},
    "boolean": {"string"},
    "datetime": {"string"},
}


def schema_problems(available: pa.Schema, required: dict[str, str]) -> list[str]:
    """Columns the model needs that the scoring data lacks or holds with a type that cannot be
    converted to the model's (see :func:`conversions`; values are checked one by one later)."""
    problems = []
    names = set(available.names)
    missing = [c for c in required if c not in names]
    if missing:
        problems.append(f"missing columns {missing}")
    for column, mlflow_type in required.items():
        if column not in names:
            continue
        want = _KIND_OF_MLFLOW_TYPE.get(mlflow_type, mlflow_type)
        got = arrow_kind(available.field(column).type)
        if got in ("null", want) or got in _CONVERTIBLE.get(want, set()):
            continue
        problems.append(
            f"column '{column}' holds {got} values ({available.field(column).type}), the model expects {mlflow_type}"
        )
    return problems


def conversions(available: pa.Schema, required: dict[str, str]) -> dict[str, str]:
    """Column -> the kind it must be converted to before the model sees it."""
    out = {}
    for column, mlflow_type in required.items():
        if column not in available.names:
            continue
        want = _KIND_OF_MLFLOW_TYPE.get(mlflow_type, mlflow_type)
        got = arrow_kind(available.field(column).type)
        if got != want and got in _CONVERTIBLE.get(want, set()):
            out[column] = mlflow_type
    return out


def parsed_columns(plan: dict[str, str]) -> list[str]:
    """The columns whose conversion parses text and can therefore fail on a value."""
    return [c for c, t in plan.items() if _KIND_OF_MLFLOW_TYPE.get(t, t) != "string"]


def coerce_frame(frame: pd.DataFrame, plan: dict[str, str], first_row: int = 0) -> pd.DataFrame:
    """``frame`` with each column of ``plan`` converted to the model's type, as training saw it.

    Numbers for a string column become their text (``20.0`` -> ``"20"``, ``29.85`` ->
    ``"29.85"``; a missing value stays missing); text for a numeric column is parsed, a blank
    meaning missing. A value that does not parse raises :class:`DatasetError` naming the
    column, the data row (1-based, ``first_row`` + position) and the value.
    """
    from mlrecipes.errors import DatasetError

    if not plan:
        return frame
    out = frame.copy()
    for column, mlflow_type in plan.items():
        want = _KIND_OF_MLFLOW_TYPE.get(mlflow_type, mlflow_type)
        values = out[column]
        if want == "string":
            out[column] = _as_text(values)
            continue
        text = values.astype("string").str.strip()
        blank = values.isna() | (text == "")
        if want in ("floating", "integer"):
            parsed = pd.to_numeric(text.where(~blank), errors="coerce")
        elif want == "boolean":
            lowered = text.str.lower()
            parsed = lowered.map({"true": True, "false": False, "1": True, "0": False})
        else:
            parsed = pd.to_datetime(text.where(~blank), errors="coerce")
        bad = parsed.isna() & ~blank
        if want == "integer" and not bad.any():
            fractional = parsed.notna() & (parsed.astype("float64") % 1 != 0)
            bad = fractional
        if bad.any():
            position = int(np.flatnonzero(bad.to_numpy())[0])
            raise DatasetError(
                f"column '{column}', data row {first_row + position + 1}: "
                f"{values.iloc[position]!r} is not a valid {mlflow_type} (the model's type for "
                "this column)"
            )
        if want == "integer":
            if blank.any():
                position = int(np.flatnonzero(blank.to_numpy())[0])
                raise DatasetError(
                    f"column '{column}', data row {first_row + position + 1}: missing value in a "
                    f"column the model types as {mlflow_type} (the training data had none)"
                )
            parsed = parsed.astype("int64")
        elif want == "floating":
            parsed = parsed.astype("float64")
        elif want == "boolean":
            parsed = parsed.astype(object).where(~blank, None)
        out[column] = parsed
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Numbers as the text a CSV writer gives them: integral floats without ``.0``."""
    if pd.api.types.is_float_dtype(values):
        integral = values.notna() & (values % 1 == 0)
        text = values.astype(str)
        text = text.where(~integral, values.where(integral, 0).astype("int64").astype(str))
        return text.astype(object).where(values.notna(), None)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return values.astype(str).astype(object)
    return (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: v if v is None or isinstance(v, str) else str(v))
    )


METADATA_COLUMNS = ("model_name", "model_version", "scored_at", "scoring_date")


def kept_columns(
    columns: list[str], id_columns: list[str], keep_inputs: bool, produced: list[str]
) -> list[str]:
    """The input columns an output row carries: all of them (MLflow Recipes' output) or only the
    id columns; an input column named like a produced one (``prediction``, ``model_name``...) is
    left out in favour of the produced value, as MLflow Recipes dropped an input ``prediction``."""
    wanted = list(columns) if keep_inputs else [c for c in columns if c in id_columns]
    return [c for c in wanted if c not in set(produced) | set(METADATA_COLUMNS)]


def prediction_frame(predictions: Any, rows: int) -> pd.DataFrame:
    if isinstance(predictions, pd.DataFrame):
        return predictions.reset_index(drop=True)
    return pd.DataFrame({"prediction": np.asarray(predictions).reshape(rows, -1)[:, 0]})


def output_frame(
    batch: pd.DataFrame,
    predictions: Any,
    id_columns: list[str],
    model: ResolvedModel,
    scored_at: datetime,
    with_date: bool,
    keep_inputs: bool = True,
) -> pd.DataFrame:
    """The input columns kept (see :func:`kept_columns`), the model's outputs, and which model
    scored the row when."""
    preds = prediction_frame(predictions, len(batch))
    kept = kept_columns(list(batch.columns), id_columns, keep_inputs, list(preds.columns))
    out = pd.concat([batch[kept].reset_index(drop=True), preds], axis=1)
    out["model_name"] = model.name or ""
    out["model_version"] = model.version or ""
    out["scored_at"] = pd.Timestamp(scored_at)
    if with_date:
        out["scoring_date"] = scored_at.date().isoformat()
    return out
