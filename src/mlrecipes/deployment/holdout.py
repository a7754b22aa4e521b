"""Which rows a model trained on, as a set of 64-bit hashes, and whether a holdout avoids them.

A model records the hashes of its training and validation rows (its feature columns, or its key
columns when ``deploy.key_columns`` names them); a holdout is clean for that model when none of
its rows hash into that set. Hashes, not the rows: the set is 8 bytes a row and reveals no data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlrecipes.errors import DatasetError


@dataclass(frozen=True)
class RowSet:
    """Sorted unique hashes of the rows of ``columns`` (``kind``: "keys" or "rows")."""

    kind: str
    columns: tuple[str, ...]
    hashes: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {f"{self.kind}_hashes": self.hashes, f"{self.kind}_columns": np.array(self.columns)}


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One hash per row of ``columns``, independent of the index and of the column order given."""
    ordered = sorted(columns)
    # values as text: a key read as int from parquet and as str from a CSV is the same key
    text = frame[ordered].astype("string").fillna("\x00<NA>")
    return pd.util.hash_pandas_object(text, index=False).to_numpy()


def row_set(frame: pd.DataFrame, columns: list[str], kind: str) -> RowSet:
    return RowSet(kind, tuple(sorted(columns)), np.unique(row_hashes(frame, columns)))


def row_sets_from_arrays(arrays: dict[str, np.ndarray]) -> dict[str, RowSet]:
    sets = {}
    for kind in ("keys", "rows"):
        if f"{kind}_hashes" in arrays:
            columns = tuple(str(c) for c in arrays[f"{kind}_columns"].tolist())
            sets[kind] = RowSet(kind, columns, np.asarray(arrays[f"{kind}_hashes"]))
    return sets


@dataclass(frozen=True)
class Overlap:
    kind: str
    columns: tuple[str, ...]
    rows: int  # holdout rows found among the training rows
    holdout_rows: int

    @property
    def clean(self) -> bool:
        return self.rows == 0


def holdout_overlap(
    holdout: pd.DataFrame, trained_on: dict[str, RowSet], key_columns: list[str]
) -> Overlap:
    """How many holdout rows a model trained on: by key when both sides have the same key
    columns, else by the whole row of the columns the model recorded."""
    keys = trained_on.get("keys")
    if key_columns and keys is not None and set(keys.columns) == set(key_columns):
        chosen = keys
    elif "rows" in trained_on:
        chosen = trained_on["rows"]
    else:
        raise DatasetError("the model recorded no training rows")
    missing = [c for c in chosen.columns if c not in holdout.columns]
    if missing:
        raise DatasetError(
            f"the holdout lacks the columns {missing} the model's training rows hash"
        )
    found = np.isin(row_hashes(holdout, list(chosen.columns)), chosen.hashes)
    return Overlap(chosen.kind, chosen.columns, int(found.sum()), len(holdout))


def fingerprint(holdout: pd.DataFrame) -> str:
    """A short content fingerprint of the holdout (recorded in the decision's audit tags)."""
    import hashlib

    hashes = np.sort(row_hashes(holdout, list(holdout.columns)))
    return hashlib.sha256(hashes.tobytes()).hexdigest()[:16]
