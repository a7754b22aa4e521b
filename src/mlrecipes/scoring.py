"""Pure helpers of batch scoring: input checks against the model's schema, and output rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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


@dataclass(frozen=True)
class ResolvedModel:
    uri: str
    name: str | None
    version: str | None
    alias: str | None

    def describe(self) -> str:
        parts = [self.uri]
        if self.name and self.version:
            parts.append(
                f"({self.name} version {self.version}"
                + (f", alias {self.alias})" if self.alias else ")")
            )
        return " ".join(parts)


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


def schema_problems(available: pa.Schema, required: dict[str, str]) -> list[str]:
    """Columns the model needs that the scoring data lacks or holds with an incompatible type.

    ``required`` maps column → MLflow type name. Integers may feed a floating column; nothing else
    is converted (MLflow would refuse it batch by batch, after writing had started).
    """
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
        if got == "null" or got == want:
            continue
        if got == "integer" and want == "floating":
            continue
        problems.append(
            f"column '{column}' holds {got} values ({available.field(column).type}), the model expects {mlflow_type}"
        )
    return problems


def output_frame(
    batch: pd.DataFrame,
    predictions: Any,
    id_columns: list[str],
    model: ResolvedModel,
    scored_at: datetime,
    with_date: bool,
) -> pd.DataFrame:
    """Id columns, the model's outputs, and which model scored the row when."""
    out = batch[id_columns].reset_index(drop=True).copy()
    if isinstance(predictions, pd.DataFrame):
        preds = predictions.reset_index(drop=True)
    else:
        preds = pd.DataFrame({"prediction": np.asarray(predictions).reshape(len(batch), -1)[:, 0]})
    out = pd.concat([out, preds], axis=1)
    out["model_name"] = model.name or ""
    out["model_version"] = model.version or ""
    out["scored_at"] = pd.Timestamp(scored_at)
    if with_date:
        out["scoring_date"] = scored_at.date().isoformat()
    return out
