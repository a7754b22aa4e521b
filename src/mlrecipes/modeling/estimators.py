"""Pure helpers around scikit-learn objects used by transform and train (no I/O, no MLflow)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlrecipes.errors import UserCodeError


def check_transformer(obj: Any, where: str) -> None:
    for method in ("fit", "transform"):
        if not callable(getattr(obj, method, None)):
            raise UserCodeError(
                f"{where} must return an unfitted transformer with fit() and transform() "
                f"(or None for identity), got {type(obj).__name__} without {method}()"
            )


def check_estimator(obj: Any, where: str) -> None:
    for method in ("fit", "predict"):
        if not callable(getattr(obj, method, None)):
            raise UserCodeError(
                f"{where} must return an unfitted scikit-learn style estimator with fit() and "
                f"predict(), got {type(obj).__name__} without {method}()"
            )


def identity_transformer() -> Any:
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(feature_names_out="one-to-one")


def transformed_frame(transformer: Any, X: pd.DataFrame) -> pd.DataFrame:
    """``transformer.transform(X)`` as a DataFrame with meaningful column names."""
    columns = list(X.columns)  # before transform: the transformer may mutate X
    out = transformer.transform(X)
    if isinstance(out, pd.DataFrame):
        return out.reset_index(drop=True)
    if hasattr(out, "toarray"):
        out = out.toarray()
    out = np.asarray(out)
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    try:
        names = [str(n) for n in transformer.get_feature_names_out(columns)]
    except (AttributeError, TypeError, ValueError, NotImplementedError):
        names = []  # no names (e.g. a FunctionTransformer without feature_names_out): numbered
    if len(names) != out.shape[1]:
        width = len(str(out.shape[1] - 1))
        names = [f"f_{str(i).zfill(width)}" for i in range(out.shape[1])]
    return pd.DataFrame(out, columns=names)


def rebalance(
    X: pd.DataFrame, y: pd.Series, minority_share: float, seed: int = 42
) -> tuple[pd.DataFrame, pd.Series, dict[Any, float]]:
    """Down-sample the majority class until the minority holds ``minority_share`` of the rows.

    Returns the new X, y and the balanced class weights of the *original* data (what MLflow Recipes
    passed to the estimator as ``class_weight``).
    """
    counts = y.value_counts()
    minority, majority = counts.idxmin(), counts.idxmax()
    n_min = int(counts[minority])
    weights = {cls: len(y) / (len(counts) * int(n)) for cls, n in counts.items()}
    if n_min / len(y) >= minority_share:
        return X, y, weights
    keep_major = int(n_min * (1 - minority_share) / minority_share)
    rng = np.random.default_rng(seed)
    major_idx = np.flatnonzero((y == majority).to_numpy())
    chosen = np.sort(
        np.concatenate(
            [
                np.flatnonzero((y != majority).to_numpy()),
                rng.choice(major_idx, keep_major, replace=False),
            ]
        )
    )
    return X.iloc[chosen].reset_index(drop=True), y.iloc[chosen].reset_index(drop=True), weights


def flat_params(estimator: Any) -> dict[str, Any]:
    """Estimator parameters as loggable scalars (nested estimators by class name)."""
    params = {}
    try:
        raw = estimator.get_params(deep=False)
    except (AttributeError, TypeError):  # not a scikit-learn estimator: nothing to log
        return params
    for key, value in raw.items():
        if value is None or isinstance(value, bool | int | float | str):
            params[key] = value
        elif hasattr(value, "get_params"):
            params[key] = type(value).__name__
        else:
            params[key] = str(value)[:250]
    return params


def positive_scores(proba: np.ndarray, classes: list, positive_class: Any) -> np.ndarray:
    return proba[:, list(classes).index(positive_class)]


def best_f1_threshold(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """The probability cut-off that maximises F1 of the positive class on these rows.

    Calibrated probabilities rank as before but sit lower for a minority class, so the default
    cut-off of 0.5 labels too few rows positive; the labels' cut-off is chosen on its own.
    """
    from sklearn.metrics import precision_recall_curve

    is_positive = np.asarray(is_positive, dtype=bool)
    if is_positive.all() or not is_positive.any():
        return 0.5
    precision, recall, thresholds = precision_recall_curve(is_positive, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    # the last precision/recall pair has no threshold
    return float(thresholds[int(np.argmax(f1[:-1]))])


def with_threshold(fitted: Any, X: Any, y: Any, threshold: float, positive_class: Any) -> Any:
    """``fitted`` (left as it is) labelling rows positive when P(positive) >= ``threshold``;
    ``predict_proba`` is unchanged."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    wrapped = FixedThresholdClassifier(
        FrozenEstimator(fitted),
        threshold=threshold,
        pos_label=positive_class,
        response_method="predict_proba",
    )
    return wrapped.fit(X, y)


def unwrap_threshold(estimator: Any) -> Any:
    """The probability model inside a :func:`with_threshold` wrapper (else ``estimator``)."""
    from sklearn.model_selection import FixedThresholdClassifier

    if isinstance(estimator, FixedThresholdClassifier):
        inner = estimator.estimator_
        return getattr(inner, "estimator", inner)  # FrozenEstimator holds the fitted model
    return estimator


def prediction_error(
    y_true: pd.Series,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list | None,
    positive: Any,
) -> np.ndarray:
    """Per-row error used for 'worst predictions' (MLflow Recipes' definition)."""
    if classes is None:
        return np.abs(np.asarray(y_pred, dtype=float) - y_true.to_numpy(dtype=float))
    if proba is not None and positive is not None:
        p = positive_scores(proba, classes, positive)
        return np.where(y_true.to_numpy() == positive, 1 - p, p)
    if proba is not None:
        idx = {c: i for i, c in enumerate(classes)}
        true_idx = np.array([idx.get(v, -1) for v in y_true.to_numpy()])
        p_true = np.where(true_idx >= 0, proba[np.arange(len(true_idx)), true_idx.clip(0)], 0.0)
        return 1 - p_true
    return (np.asarray(y_pred) != y_true.to_numpy()).astype(float)


def permutation_importance(
    predict: Callable[[pd.DataFrame], Any],
    metric_by_block: Callable[[np.ndarray, np.ndarray], np.ndarray],
    X: pd.DataFrame,
    y: pd.Series,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 2000,
) -> pd.DataFrame:
    """Drop in the metric when one raw column at a time is shuffled (larger = more important).

    Same definition as ``sklearn.inspection.permutation_importance``, but all shuffled copies are
    predicted in one call and scored in one vectorised call: a pipeline's per-call overhead
    (~10 ms) and a metric's (~3 ms) times columns × repeats would otherwise dominate the evaluate
    card's cost. ``metric_by_block(y, predictions)`` gets the true values (n,) and predictions
    shaped (copies, n) and returns one score per copy (larger = better).
    """
    rng = np.random.default_rng(seed)
    if len(X) > max_rows:
        rows = np.sort(rng.choice(len(X), max_rows, replace=False))
        X, y = X.iloc[rows], y.iloc[rows]
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    n = len(X)
    blocks = [X]
    labels = [("baseline", -1)]
    for column in X.columns:
        for repeat in range(n_repeats):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[rng.permutation(n)]
            blocks.append(shuffled)
            labels.append((column, repeat))
    predictions = np.asarray(predict(pd.concat(blocks, ignore_index=True)))
    scores = np.asarray(metric_by_block(y.to_numpy(), predictions.reshape(len(blocks), n)))
    baseline = scores[0]
    drops: dict[str, list[float]] = {}
    for (column, _), value in zip(labels[1:], scores[1:], strict=True):
        drops.setdefault(column, []).append(baseline - value)
    table = pd.DataFrame(
        {
            "feature": list(drops),
            "importance": [float(np.mean(v)) for v in drops.values()],
            "std": [float(np.std(v)) for v in drops.values()],
        }
    )
    return table.sort_values("importance", ascending=False, ignore_index=True)
