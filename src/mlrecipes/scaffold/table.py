"""What `mlrecipes init` reads from a table: each column's role, the task, the positive class.

Pure functions of a DataFrame (no files): every refusal names the column and why, so `init` can
stop before it writes anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlrecipes.config.suggestions import did_you_mean
from mlrecipes.errors import DatasetError

Task = Literal["classification", "regression"]

# a text column is numbers stored as text when this share of its non-blank values parse
TEXT_NUMBER_SHARE = 0.99
# a text column with more distinct values than this share of its rows (and LOTS at least) is free
# text or another identifier: one-hot encoding it learns the rows by heart
FREE_TEXT_SHARE = 0.5
FREE_TEXT_MIN_LEVELS = 50
# a numeric target with at most this many integer levels (and more than 2) is ambiguous: classes
# or a count; init asks instead of guessing
FEW_LEVELS = 10
ID_NAME = re.compile(r"(^|_|[a-z])(id|ID|Id)$|^(id|ID|key)$")
POSITIVE_WORDS = ("yes", "y", "true", "t", "1", "positive", "pos")


@dataclass(frozen=True)
class TableSpec:
    """A table's roles, as `init` detected or was told them."""

    target: str
    task: Task
    positive_class: Any
    id_columns: list[str]
    time_column: str | None
    numeric: list[str]
    text_numbers: list[str]
    categorical: list[str]
    dropped: list[str]
    rows: int
    positive_share: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def numeric_columns(self) -> list[str]:
        """What ingest must find numeric: numbers, and numbers stored as text, in table order."""
        return [*self.numeric, *self.text_numbers]

    def roles(self, columns: list[str]) -> list[tuple[str, str]]:
        """(column, role) in the table's order, for the README and --dry-run."""
        named = {self.target: f"target ({self.task})"}
        named |= {c: "id (key, never a feature)" for c in self.id_columns}
        if self.time_column:
            named[self.time_column] = "snapshot time (never a feature)"
        named |= {c: "number" for c in self.numeric}
        named |= {c: "number stored as text (parsed; blank = missing)" for c in self.text_numbers}
        named |= {c: "category (one-hot)" for c in self.categorical}
        named |= {c: "dropped (--drop)" for c in self.dropped}
        return [(c, named[c]) for c in columns if c in named]


def _require(frame: pd.DataFrame, column: str, what: str, source: str) -> None:
    if column not in frame.columns:
        columns = list(map(str, frame.columns))
        raise DatasetError(
            f"{source}: no column '{column}' for {what} (columns: {', '.join(columns[:30])})"
            f"{did_you_mean(column, columns)}"
        )


def _is_blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype(str).str.strip().eq("")


def _parses_as_numbers(values: pd.Series) -> bool:
    filled = values[~_is_blank(values)].astype(str).str.strip()
    if filled.empty:
        return False
    return bool(pd.to_numeric(filled, errors="coerce").notna().mean() >= TEXT_NUMBER_SHARE)


def _parses_as_dates(values: pd.Series) -> bool:
    filled = values.dropna().astype(str).head(500)
    if filled.empty:
        return False
    parsed = pd.to_datetime(filled, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= TEXT_NUMBER_SHARE)


def _check_target(frame: pd.DataFrame, target: str, source: str) -> pd.Series:
    values = frame[target].dropna()
    if values.empty:
        raise DatasetError(f"{source}: target column '{target}' holds no values")
    levels = values.unique()
    if len(levels) == 1:
        raise DatasetError(
            f"{source}: target column '{target}' is constant ({_plain(levels[0])!r} on every row): "
            "there is nothing to learn"
        )
    return values


def _task(values: pd.Series, target: str, task: Task | None, source: str) -> Task:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    levels = values.nunique()
    if task == "regression":
        if not numeric:
            raise DatasetError(
                f"{source}: target column '{target}' is not numeric ({values.dtype}), so it "
                "cannot be a regression target"
            )
        return task
    if task == "classification" or levels == 2:
        if levels != 2:
            raise DatasetError(
                f"{source}: target column '{target}' has {levels} classes; mlrecipes "
                "classification is binary (two classes)"
            )
        return "classification"
    if not numeric:
        raise DatasetError(
            f"{source}: target column '{target}' is text with {levels} classes; mlrecipes "
            "classification is binary (two classes)"
        )
    integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    if integral and levels <= FEW_LEVELS:
        raise DatasetError(
            f"{source}: target column '{target}' has {levels} integer levels: classes or a "
            "count? Pass --task regression to predict it as a number"
        )
    return "regression"


def _positive_class(values: pd.Series, given: str | None, target: str, source: str) -> Any:
    """The given class in the column's own type, else the yes-like or the rarer class."""
    levels = sorted(values.unique().tolist(), key=str)
    if given is not None:
        for level in levels:
            if str(level) == given or (
                isinstance(level, (int, float, np.number)) and _same_number(level, given)
            ):
                return _plain(level)
        raise DatasetError(
            f"{source}: --positive-class {given!r} is not a value of '{target}' "
            f"(values: {', '.join(map(repr, levels))})"
        )
    for level in levels:
        if str(level).strip().lower() in POSITIVE_WORDS:
            return _plain(level)
    rarer = values.value_counts().sort_index(key=lambda s: s.astype(str)).idxmin()
    return _plain(rarer)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages and YAML)."""
    return value.item() if isinstance(value, np.generic) else value


def _same_number(level: Any, given: str) -> bool:
    try:
        return float(given) == float(level)
    except ValueError:
        return False


def _id_columns(
    frame: pd.DataFrame, given: list[str], time: str | None, target: str, source: str
) -> list[str]:
    if not given:
        unique = [
            str(c)
            for c in frame.columns
            if c not in (target, time) and ID_NAME.search(str(c)) and frame[c].notna().all()
        ]
        keyed = [c for c in unique if not frame.duplicated([c, *([time] if time else [])]).any()]
        if not keyed:
            raise DatasetError(
                f"{source}: no --id given and no column looks like a key (a name ending in 'id', "
                "unique on every row). The loop scores and joins outcomes by key: pass --id COLUMN"
            )
        given = keyed[:1]
    for column in given:
        _require(frame, column, "--id", source)
        if column == target:
            raise DatasetError(f"{source}: '{column}' is the target; it cannot also be the id")
        if frame[column].isna().any():
            raise DatasetError(
                f"{source}: id column '{column}' is blank on {int(frame[column].isna().sum())} "
                "rows; every row needs a key"
            )
    per = [*given, *([time] if time else [])]
    duplicated = frame.duplicated(per, keep=False)
    if duplicated.any():
        example = frame.loc[duplicated, given].iloc[0].tolist()
        where = f" within one snapshot ('{time}')" if time else ""
        raise DatasetError(
            f"{source}: id {', '.join(map(repr, given))} is not unique{where}: "
            f"{int(duplicated.sum())} rows share a key (e.g. {', '.join(map(str, example))})"
        )
    return list(given)


def _column_role(values: pd.Series, rows: int) -> str:
    if values.isna().all() or _is_blank(values).all():
        return "empty"
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "dates"
    if _parses_as_numbers(values):
        return "text_number"
    if _parses_as_dates(values):
        return "dates"
    levels = values.nunique(dropna=True)
    if levels >= FREE_TEXT_MIN_LEVELS and levels > FREE_TEXT_SHARE * rows:
        return "free_text"
    return "categorical"


UNUSABLE = {
    "empty": "holds no values",
    "free_text": "has a distinct value on most rows (free text or another identifier)",
    "dates": "holds dates, which the model cannot use as they are",
}


def describe_table(
    frame: pd.DataFrame,
    target: str,
    *,
    id_columns: list[str] | None = None,
    time_column: str | None = None,
    task: Task | None = None,
    positive_class: str | None = None,
    drop: list[str] | None = None,
    source: str = "the table",
) -> TableSpec:
    """Every column's role; refuses (DatasetError naming the column) what the loop cannot use."""
    if frame.empty:
        raise DatasetError(f"{source}: the table has no rows")
    _require(frame, target, "--target", source)
    for column in [*(drop or []), *([time_column] if time_column else [])]:
        _require(frame, column, "--drop" if column != time_column else "--time", source)
    if time_column and _column_role(frame[time_column], len(frame)) not in ("dates", "numeric"):
        raise DatasetError(f"{source}: --time column '{time_column}' does not hold dates")
    values = _check_target(frame, target, source)
    kind = _task(values, target, task, source)
    positive = (
        _positive_class(values, positive_class, target, source) if kind != "regression" else None
    )
    ids = _id_columns(frame, list(id_columns or []), time_column, target, source)
    taken = {target, *ids, *([time_column] if time_column else []), *(drop or [])}
    roles: dict[str, list[str]] = {"numeric": [], "text_number": [], "categorical": []}
    for column in (str(c) for c in frame.columns if c not in taken):
        role = _column_role(frame[column], len(frame))
        if role in UNUSABLE:
            raise DatasetError(
                f"{source}: column '{column}' {UNUSABLE[role]}; drop it with --drop {column}"
                + (f" or name it the snapshot time with --time {column}" if role == "dates" else "")
            )
        roles[role].append(column)
    if not any(roles.values()):
        raise DatasetError(f"{source}: no feature columns are left besides the id and target")
    share = float((values == positive).mean()) if kind == "classification" else None
    return TableSpec(
        target=target,
        task=kind,
        positive_class=positive,
        id_columns=ids,
        time_column=time_column,
        numeric=roles["numeric"],
        text_numbers=roles["text_number"],
        categorical=roles["categorical"],
        dropped=list(drop or []),
        rows=len(frame),
        positive_share=share,
    )
