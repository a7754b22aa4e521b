"""Which rows a model trained on, as a set of 64-bit hashes, and whether a holdout avoids them.

A model records the hashes of its training and validation rows twice: by their keys (when
``deploy.key_columns`` names them), compared by the loop's one key rule
(:mod:`mlrecipes.stats.keys`: trimmed, lower-cased, digit-only ids without leading zeros), and
by their content (the feature columns without the keys). A holdout is clean for that model when
none of its keys is among the training keys, and its rows are not the training rows under other
keys: more than ``CONTENT_TOLERANCE`` of its rows matching training rows by content is refused
(a few identical customers happen in real data: 40 of IBM Telco's 7,043 rows repeat another's
features). Without keys, content is the identity and any match is refused. Hashes, not the
rows: a set is 8 bytes a row and reveals no data. Records made before keys were normalised
(no ``keys_rule``) are compared as they were made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlrecipes.errors import DatasetError
from mlrecipes.stats.keys import normalised

CONTENT_TOLERANCE = 0.01  # share of holdout rows that may repeat a training row's content
NORMALISED = "normalised"  # keys_rule of a record whose keys were hashed in the compared form


@dataclass(frozen=True)
class RowSet:
    """Sorted unique hashes of the rows of ``columns`` (``kind``: "keys" or "rows");
    ``rule``: how key values were put before hashing ("" as they were)."""

    kind: str
    columns: tuple[str, ...]
    hashes: np.ndarray
    rule: str = ""

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            f"{self.kind}_hashes": self.hashes,
            f"{self.kind}_columns": np.array(self.columns),
        }
        if self.rule:
            arrays[f"{self.kind}_rule"] = np.array(self.rule)
        return arrays

    def found(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row of ``frame``: whether it hashes into this set (by this set's rule)."""
        if self.rule == NORMALISED:
            frame = normalised(frame, list(self.columns))
        return np.isin(row_hashes(frame, list(self.columns)), self.hashes)


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One hash per row of ``columns``, independent of the index and of the column order given."""
    ordered = sorted(columns)
    # values as text: a key read as int from parquet and as str from a CSV is the same key
    text = frame[ordered].astype("string").fillna("\x00<NA>")
    return pd.util.hash_pandas_object(text, index=False).to_numpy()


def row_set(frame: pd.DataFrame, columns: list[str], kind: str) -> RowSet:
    """Content (``kind="rows"``) as it is; keys (``kind="keys"``) in the compared form."""
    if kind == "keys":
        frame = normalised(frame, columns)
    rule = NORMALISED if kind == "keys" else ""
    return RowSet(kind, tuple(sorted(columns)), np.unique(row_hashes(frame, columns)), rule)


def training_row_sets(
    seen: pd.DataFrame, feature_columns: list[str], key_columns: list[str]
) -> dict[str, RowSet]:
    """What a model records of the rows it saw: keys (when all are present) and content."""
    sets: dict[str, RowSet] = {}
    if key_columns and all(c in seen.columns for c in key_columns):
        sets["keys"] = row_set(seen, key_columns, "keys")
    content = [c for c in feature_columns if c not in key_columns] or feature_columns
    sets["rows"] = row_set(seen, content, "rows")
    return sets


def row_sets_from_arrays(arrays: dict[str, np.ndarray]) -> dict[str, RowSet]:
    sets = {}
    for kind in ("keys", "rows"):
        if f"{kind}_hashes" in arrays:
            columns = tuple(str(c) for c in arrays[f"{kind}_columns"].tolist())
            rule = str(arrays[f"{kind}_rule"]) if f"{kind}_rule" in arrays else ""
            sets[kind] = RowSet(kind, columns, np.asarray(arrays[f"{kind}_hashes"]), rule)
    return sets


@dataclass(frozen=True)
class Overlap:
    kind: str  # what was refused on: "keys" or "rows" ("" when clean)
    columns: tuple[str, ...]
    rows: int  # holdout rows found among the training rows (by that kind)
    holdout_rows: int
    same_content: int = 0  # holdout rows repeating a training row's content (any key)

    @property
    def clean(self) -> bool:
        return self.rows == 0


def holdout_overlap(
    holdout: pd.DataFrame, trained_on: dict[str, RowSet], key_columns: list[str]
) -> Overlap:
    """How many holdout rows a model trained on: by key when both sides have the same key
    columns (then also by content beyond ``CONTENT_TOLERANCE``: the same rows under other
    keys), else by content alone."""
    keys, rows = trained_on.get("keys"), trained_on.get("rows")
    if keys is not None and not (key_columns and set(keys.columns) == set(key_columns)):
        keys = None
    if keys is None and rows is None:
        raise DatasetError("the model recorded no training rows")
    needed = [c for s in (keys, rows) if s is not None for c in s.columns]
    missing = sorted({c for c in needed if c not in holdout.columns})
    if missing:
        raise DatasetError(
            f"the holdout lacks the columns {missing} the model's training rows hash"
        )
    same = int(rows.found(holdout).sum()) if rows is not None else 0
    if keys is not None:
        by_key = int(keys.found(holdout).sum())
        if by_key:
            return Overlap("keys", keys.columns, by_key, len(holdout), same)
        if rows is not None and same > CONTENT_TOLERANCE * len(holdout):
            return Overlap("rows", rows.columns, same, len(holdout), same)
        return Overlap("", (), 0, len(holdout), same)
    assert rows is not None
    return Overlap("rows" if same else "", rows.columns, same, len(holdout), same)


def fingerprint(holdout: pd.DataFrame) -> str:
    """A short content fingerprint of the holdout (recorded in the decision's audit tags)."""
    import hashlib

    hashes = np.sort(row_hashes(holdout, list(holdout.columns)))
    return hashlib.sha256(hashes.tobytes()).hexdigest()[:16]
