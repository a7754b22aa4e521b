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
# the criterion sits this many fold standard deviations (and MARGIN) below the baseline's mean
SPREAD = 2.0
MARGIN = 0.02


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

    def note(self) -> str:
        said = ", ".join(f"{m} {np.mean(v):.3f} ± {np.std(v):.3f}" for m, v in self.scores.items())
        return (
            f"set by mlrecipes init from a {FOLDS}-fold baseline of steps/train.py's model on the "
            f"table ({said}): {SPREAD:g} standard deviations and {MARGIN} below its mean"
        )


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


def measure_baseline(frame: pd.DataFrame, spec: TableSpec) -> Baseline:
    """Cross-validated scores of the starting model, and criteria below them."""
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
    criteria = []
    for metric, values in scores.items():
        mean, spread = float(np.mean(values)), float(np.std(values))
        if metric == "root_mean_squared_error":
            threshold = _ceil_3(mean + SPREAD * spread + MARGIN * mean)
        else:
            threshold = max(0.0, _floor(mean - SPREAD * spread - MARGIN))
        criteria.append(Criterion(metric, threshold))
    return Baseline(scores=scores, criteria=criteria, majority=majority)
