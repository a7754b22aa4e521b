"""Which rows a model trained on, as a set of 64-bit hashes, and whether a holdout avoids them.

A model records the hashes of its training and validation rows twice: by their keys (when
``deploy.key_columns`` names them), compared by the loop's one key rule
(:mod:`mlrecipes.stats.keys`: trimmed, lower-cased, digit-only ids without leading zeros), and
by their content (the feature columns without the keys). A holdout is clean for that model when
none of its keys is among the training keys, and its rows are not the training rows under other
keys. Identical customers happen in real data (40 of IBM Telco's 7,043 rows repeat another's
features, about 1% of rows belong to such a pair), so some content matches are chance: the
training rows record their own twin share, and a holdout is refused when its content matches
are more than chance explains (:func:`chance_limit`). Without keys, content is the identity and
any match is refused. Hashes, not the rows: a set is 8 bytes a row and reveals no data. Records
made before keys were normalised (no ``keys_rule``) are compared as they were made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlrecipes.errors import DatasetError
from mlrecipes.stats.keys import normalised

CONTENT_TOLERANCE = 0.01  # least twin share assumed (a record without one, or with fewer twins)
CHANCE_LEVEL = 0.001  # refuse content matches that chance would give less often than this
NORMALISED = "normalised"  # keys_rule of a record whose keys were hashed in the compared form


@dataclass(frozen=True)
class RowSet:
    """Sorted unique hashes of the rows of ``columns`` (``kind``: "keys" or "rows");
    ``rule``: how key values were put before hashing ("" as they were)."""

    kind: str
    columns: tuple[str, ...]
    hashes: np.ndarray
    rule: str = ""
    twin_share: float | None = None  # share of the recorded rows repeating another's (rows)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            f"{self.kind}_hashes": self.hashes,
            f"{self.kind}_columns": np.array(self.columns),
        }
        if self.rule:
            arrays[f"{self.kind}_rule"] = np.array(self.rule)
        if self.twin_share is not None:
            arrays[f"{self.kind}_twin_share"] = np.array(self.twin_share)
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
    hashes, counts = np.unique(row_hashes(frame, columns), return_counts=True)
    twins = float(counts[counts > 1].sum() / len(frame)) if kind == "rows" and len(frame) else None
    return RowSet(kind, tuple(sorted(columns)), hashes, rule, twins)


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
            share = arrays.get(f"{kind}_twin_share")
            twins = float(share) if share is not None else None
            sets[kind] = RowSet(kind, columns, np.asarray(arrays[f"{kind}_hashes"]), rule, twins)
    return sets


def chance_limit(holdout_rows: int, twin_share: float | None) -> int:
    """The most content matches chance explains in a holdout of ``holdout_rows`` other
    customers, when a share ``twin_share`` of the training rows repeat another training row's
    features (a new customer is about as likely to repeat one): the count a binomial with that
    rate exceeds with probability under ``CHANCE_LEVEL``. The rate is at least
    ``CONTENT_TOLERANCE``. Any more is refused: a holdout holding the training rows under new
    keys matches nearly all of its rows, one with a tenth of them leaked, far beyond this."""
    from scipy.stats import binom

    rate = max(twin_share or 0.0, CONTENT_TOLERANCE)
    return int(binom.isf(CHANCE_LEVEL, holdout_rows, rate)) if holdout_rows else 0


@dataclass(frozen=True)
class Overlap:
    kind: str  # what was refused on: "keys" or "rows" ("" when clean)
    columns: tuple[str, ...]
    rows: int  # holdout rows found among the training rows (by that kind)
    holdout_rows: int
    same_content: int = 0  # holdout rows repeating a training row's content (any key)
    chance: int = 0  # the most content matches chance explains (refused beyond, with keys)

    @property
    def clean(self) -> bool:
        return self.rows == 0


def holdout_overlap(
    holdout: pd.DataFrame, trained_on: dict[str, RowSet], key_columns: list[str]
) -> Overlap:
    """How many holdout rows a model trained on: by key when both sides have the same key
    columns (then also by content beyond :func:`chance_limit`: the same rows under other
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
        chance = chance_limit(len(holdout), rows.twin_share) if rows is not None else 0
        by_key = int(keys.found(holdout).sum())
        if by_key:
            return Overlap("keys", keys.columns, by_key, len(holdout), same, chance)
        if rows is not None and same > chance:
            return Overlap("rows", rows.columns, same, len(holdout), same, chance)
        return Overlap("", (), 0, len(holdout), same, chance)
    assert rows is not None
    return Overlap("rows" if same else "", rows.columns, same, len(holdout), same)


def fingerprint(holdout: pd.DataFrame) -> str:
    """A short content fingerprint of the holdout (recorded in the decision's audit tags)."""
    import hashlib

    hashes = np.sort(row_hashes(holdout, list(holdout.columns)))
    return hashlib.sha256(hashes.tobytes()).hexdigest()[:16]
