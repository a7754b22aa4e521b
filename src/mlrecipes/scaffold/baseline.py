"""The validation criteria `init` writes: a quick cross-validated baseline of the model the project
starts with (the same estimator as its steps/train.py, the same encoding as steps/transform.py),
so the first run passes with a model as good as the baseline and a broken one does not.

Churn's hand-set numbers (ROC AUC >= 0.80) reject good models on other tables; a criterion read
off the table's own baseline does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlrecipes.scaffold.table import TableSpec

FOLDS = 5
MAX_ROWS = 20_000  # enough for a stable mean; a quick init on a large table
SEED = 42
# The criterion sits SPREAD standard errors and MARGIN below the baseline's mean. The error is
# that of the metric on the recipe's test split (12.5% of the rows, smaller than a fold): the
# larger of the folds' spread scaled to that size and the sampling error of the metric on that
# many rows (Hanley-McNeil for ROC AUC, binomial for F1): five folds alone often under-state it.
SPREAD = 2.5
MARGIN = 0.02
TEST_SHARE = 0.125  # the template's split_ratios[2]
# deploy compares two models on the test split and needs 20 rows; init keeps about twice that in
# the validation and test splits of a small table (a key's rows share a split, so counts vary)
SPLIT_ROWS = 40
MAX_SHARE = 0.25
MIN_ROWS = 100


def split_ratios(rows: int) -> list[float]:
    """The template's 75/12.5/12.5, or larger validation and test splits for a small table."""
    share = min(MAX_SHARE, max(TEST_SHARE, math.ceil(SPLIT_ROWS / rows * 100) / 100))
    return [round(1 - 2 * share, 4), share, share]


@dataclass(frozen=True)
class Criterion:
    metric: str
    threshold: float


@dataclass(frozen=True)
class Baseline:
    """Fold scores of the baseline, and the criteria read off them."""

    scores: dict[str, list[float]]
    criteria: list[Criterion]
    majority: dict[str, float]
    dropped: list[str]  # metrics whose bar would not beat a majority-class model

    def note(self) -> str:
        said = ", ".join(f"{m} {np.mean(v):.3f} ± {np.std(v):.3f}" for m, v in self.scores.items())
        note = (
            f"set by mlrecipes init from a {FOLDS}-fold baseline of steps/train.py's model on the "
            f"table ({said}): {SPREAD:g} standard errors of the metric on the test split and "
            f"{MARGIN} below its mean"
        )
        if self.dropped:
            note += (
                f"; no {' or '.join(self.dropped)} criterion: on a test split this small, its bar "
                "would not beat a majority-class model"
            )
        return note


def _floor(value: float) -> float:
    return math.floor(value * 100) / 100


def _ceil_3(value: float) -> float:
    """Up to 3 significant digits (an error threshold in the target's own units)."""
    if value <= 0:
        return 0.0
    digits = 2 - math.floor(math.log10(value))
    return math.ceil(value * 10**digits) / 10**digits


def _frame(frame: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, pd.Series]:
    rows = frame.dropna(subset=[spec.target])
    if len(rows) > MAX_ROWS:
        rows = rows.sample(MAX_ROWS, random_state=SEED)
    features = rows[[*spec.numeric, *spec.text_numbers, *spec.categorical]].copy()
    for column in spec.text_numbers:
        features[column] = pd.to_numeric(features[column], errors="coerce")
    for column in spec.categorical:
        features[column] = features[column].astype("string").fillna("<blank>").astype(object)
    return features, rows[spec.target]


def _pipeline(spec: TableSpec):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                [*spec.numeric, *spec.text_numbers],
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), spec.categorical),
        ]
    )
    model = (
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        if spec.task == "classification"
        else RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0))
    )
    return make_pipeline(encode, model)


def measure_baseline(
    frame: pd.DataFrame, spec: TableSpec, test_share: float = TEST_SHARE
) -> Baseline:
    """Cross-validated scores of the starting model, and criteria below them (the error of a
    metric measured on a test split of ``test_share`` of the rows)."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

    features, target = _frame(frame, spec)
    if spec.task == "classification":
        y = (target == spec.positive_class).astype(int)
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
        scoring = {"roc_auc": "roc_auc", "f1_score": "f1"}
        majority = {"roc_auc": 0.5, "f1_score": float(2 * y.mean() / (1 + y.mean()))}
    else:
        y = target.astype(float)
        folds = KFold(FOLDS, shuffle=True, random_state=SEED)
        scoring = {"root_mean_squared_error": "neg_root_mean_squared_error", "r2_score": "r2"}
        majority = {"root_mean_squared_error": float(y.std(ddof=0)), "r2_score": 0.0}
    found = cross_validate(_pipeline(spec), features, y, cv=folds, scoring=scoring)
    scores = {m: [abs(float(s)) for s in found[f"test_{m}"]] for m in scoring}
    share = float(y.mean()) if spec.task != "regression" else None
    errors = standard_errors(scores, len(y), share, test_share)
    criteria, dropped = [], []
    for metric, values in scores.items():
        mean, spread = float(np.mean(values)), SPREAD * errors[metric]
        if metric in LOWER_IS_BETTER:  # an error, in the target's units: at most
            threshold = _ceil_3(mean + spread + MARGIN * mean)
            useful = threshold < majority[metric]
        else:
            threshold = max(0.0, _floor(mean - spread - MARGIN))
            useful = threshold > majority[metric]
        if useful:
            criteria.append(Criterion(metric, threshold))
        else:
            dropped.append(metric)
    if not criteria:  # no signal this size of table can prove: at least not worse than chance
        first = next(iter(scores))
        criteria.append(Criterion(first, majority[first]))
    return Baseline(scores=scores, criteria=criteria, majority=majority, dropped=dropped)


LOWER_IS_BETTER = ("root_mean_squared_error",)


def standard_errors(
    scores: dict[str, list[float]],
    rows: int,
    positive_share: float | None,
    test_share: float = TEST_SHARE,
) -> dict[str, float]:
    """Each metric's standard error on a test split of ``test_share`` of ``rows``."""
    test_rows = max(1.0, rows * test_share)
    scale = math.sqrt((1 / FOLDS) / test_share)
    out = {}
    for metric, values in scores.items():
        mean, folds = float(np.mean(values)), scale * float(np.std(values))
        if metric == "roc_auc" and positive_share is not None:
            sampling = _auc_error(
                mean, test_rows * positive_share, test_rows * (1 - positive_share)
            )
        elif metric == "f1_score" and positive_share is not None:
            sampling = math.sqrt(mean * (1 - mean) / max(1.0, test_rows * positive_share))
        elif metric == "root_mean_squared_error":
            sampling = mean / math.sqrt(2 * test_rows)
        else:
            sampling = 0.0
        out[metric] = max(folds, sampling)
    return out


def _auc_error(auc: float, positives: float, negatives: float) -> float:
    """Hanley & McNeil (1982): the standard error of a ROC AUC from the class sizes."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / max(1.0, positives * negatives)
    return math.sqrt(max(variance, 0.0))
