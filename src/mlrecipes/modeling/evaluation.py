"""Metric computations: the recipe's built-in metrics (scikit-learn) and custom metrics.

One definition serves training, validation, test and tuning trials. Custom metrics receive an
``eval_df`` that also carries ``score`` (P(positive class)); multiclass F1 is reported as the
macro/micro pair its names promise (MLflow Recipes mislabelled the weighted F1 as macro).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mlrecipes.errors import UserCodeError


class Task(Protocol):
    """What scoring a split needs to know of the recipe (a ``RecipeConfig`` is one)."""

    target_col: str
    positive_class: Any

    @property
    def is_classification(self) -> bool: ...

    @property
    def task(self) -> str: ...


def eval_frame(
    y_true: pd.Series,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list | None,
    positive: Any,
) -> pd.DataFrame:
    """The ``eval_df`` given to custom metrics: ``prediction``, ``target`` and, for binary
    classifiers with probabilities, ``score`` (P(positive class)) and ``is_positive``."""
    df = pd.DataFrame({"prediction": np.asarray(y_pred), "target": y_true.to_numpy()})
    if proba is not None and classes is not None and positive is not None:
        df["score"] = proba[:, list(classes).index(positive)]
        df["is_positive"] = df["target"] == positive
    return df


def custom_metric_values(
    functions: dict[str, Callable[..., Any]], eval_df: pd.DataFrame, builtin: dict[str, float]
) -> dict[str, float]:
    values = {}
    for name, fn in functions.items():
        where = f"custom metric '{name}' (steps/custom_metrics.py:{getattr(fn, '__name__', fn)})"
        try:
            value = fn(eval_df.copy(), dict(builtin))
        except Exception as exc:
            import traceback

            raise UserCodeError(
                f"{where} raised {type(exc).__name__}: {exc}", traceback.format_exc()
            ) from exc
        value = getattr(value, "aggregate_results", None) or value
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise UserCodeError(f"{where} must return a number, got {value!r}") from exc
        values[name] = number
    return values


def builtin_metric(
    name: str,
    task: str,
    y_true: pd.Series,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list | None,
    positive: Any,
) -> float:
    """One built-in metric computed with scikit-learn (used for fast tuning trials)."""
    from sklearn import metrics as m

    if task == "regression":
        funcs = {
            "mean_absolute_error": m.mean_absolute_error,
            "mean_squared_error": m.mean_squared_error,
            "root_mean_squared_error": lambda a, b: math.sqrt(m.mean_squared_error(a, b)),
            "max_error": m.max_error,
            "mean_absolute_percentage_error": m.mean_absolute_percentage_error,
            "r2_score": m.r2_score,
        }
        return float(funcs[name](y_true, y_pred))
    binary = task == "classification/binary"
    if name in ("roc_auc", "log_loss", "precision_recall_auc"):
        if proba is None:
            raise ValueError(f"{name} needs an estimator with predict_proba")
        return _probability_metric(name, binary, y_true, proba, classes, positive)
    if binary and name in _CONFUSION:
        labels = [c for c in classes if c != positive] + [positive]  # type: ignore[union-attr]
        cells = m.confusion_matrix(y_true, y_pred, labels=labels).ravel()
        return float(dict(zip(_CONFUSION, cells, strict=True))[name])
    if name in _LABEL_METRICS:
        return _label_metric(name, binary, y_true, y_pred, positive)
    raise ValueError(f"metric '{name}' cannot be computed for {task}")


_CONFUSION = ("true_negatives", "false_positives", "false_negatives", "true_positives")
_LABEL_METRICS = (
    "f1_score", "f1_score_macro", "f1_score_micro", "recall_score", "precision_score",
    "accuracy_score",
)  # fmt: skip


def _label_metric(
    name: str, binary: bool, y_true: pd.Series, y_pred: np.ndarray, positive: Any
) -> float:
    """Metrics of predicted labels: the positive class's for binary, else weighted (F1 also
    macro and micro, as their names say)."""
    from sklearn import metrics as m

    avg = "binary" if binary else "weighted"
    kw = {"pos_label": positive} if binary else {}
    if name in ("f1_score", "f1_score_macro", "f1_score_micro"):
        average = {"f1_score": avg, "f1_score_macro": "macro", "f1_score_micro": "micro"}[name]
        return float(
            m.f1_score(y_true, y_pred, average=average, **(kw if average == "binary" else {}))
        )
    if name == "recall_score":
        return float(m.recall_score(y_true, y_pred, average=avg, **kw))
    if name == "precision_score":
        return float(m.precision_score(y_true, y_pred, average=avg, zero_division=0, **kw))
    return float(m.accuracy_score(y_true, y_pred))


def _probability_metric(
    name: str,
    binary: bool,
    y_true: pd.Series,
    proba: np.ndarray,
    classes: list | None,
    positive: Any,
) -> float:
    from sklearn import metrics as m

    if name == "log_loss":
        return float(m.log_loss(y_true, proba, labels=classes))
    if binary:
        p = proba[:, list(classes).index(positive)]  # type: ignore[arg-type]
        y = (y_true == positive).to_numpy()
        if name == "roc_auc":
            return float(m.roc_auc_score(y, p))
        return float(m.average_precision_score(y, p))
    # One-vs-rest, weighted by class frequency: what MLflow's evaluator reports.
    return float(
        m.roc_auc_score(y_true, proba, multi_class="ovr", average="weighted", labels=classes)
    )


def roc_auc_by_block(is_positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` (copies, n) against the same labels (n,).

    The Mann-Whitney identity with average ranks for ties, so each value equals
    ``sklearn.metrics.roc_auc_score(is_positive, row)``; one ranking call for all rows.
    """
    from mlrecipes.stats.auc import roc_auc_rows

    positive = np.asarray(is_positive, dtype=bool)
    if positive.all() or not positive.any():
        raise ValueError("ROC AUC needs both classes among the true labels")
    return roc_auc_rows(positive, scores)


def accuracy_by_block(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return (predicted == truth[np.newaxis, :]).mean(axis=1)


def negative_rmse_by_block(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    errors = predicted.astype(float) - truth.astype(float)[np.newaxis, :]
    return -np.sqrt((errors**2).mean(axis=1))


@dataclass
class SplitScores:
    """Metrics of one split, with the predictions they came from, and the built-in metrics that
    could not be computed (name -> why)."""

    metrics: dict[str, float]
    y: pd.Series
    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: list | None
    skipped: dict[str, str] = field(default_factory=dict)


def no_proba_reason(estimator: Any) -> str:
    name = type(getattr(estimator, "steps", [[None, estimator]])[-1][1]).__name__
    return (
        f"needs predicted probabilities and {name} has no predict_proba (e.g. SGDClassifier "
        "with loss='hinge', LinearSVC, RidgeClassifier); set steps.train.calibrate_proba or use "
        "an estimator with predict_proba"
    )


def split_scores(
    cfg: Task, pipeline: Any, data: pd.DataFrame, custom_fns: dict[str, Any]
) -> SplitScores:
    """Scores of one split (train and evaluate share it, so a metric has one definition
    everywhere, tuning trials included).

    Classifiers without ``predict_proba`` get the label metrics (MLflow Recipes' behaviour);
    the probability metrics are listed in ``skipped`` with the reason. Each call into the
    pipeline gets its own copy of the rows: a transformer may mutate its input.
    """
    from sklearn import config_context

    from mlrecipes.config.metrics import BUILTIN_METRICS, PROBABILITY_METRICS

    X, y = data.drop(columns=[cfg.target_col]), data[cfg.target_col]
    y_pred = np.asarray(pipeline.predict(X.copy()))
    proba = classes = None
    skipped: dict[str, str] = {}
    if cfg.is_classification:
        classes = list(pipeline.classes_)
        if hasattr(pipeline, "predict_proba"):
            proba = pipeline.predict_proba(X.copy())
        else:
            reason = no_proba_reason(pipeline)
            skipped = {m: reason for m in BUILTIN_METRICS[cfg.task] if m in PROBABILITY_METRICS}
    metrics: dict[str, float] = {"example_count": float(len(data))}
    # The arguments are built here, not by users: skip scikit-learn's per-call validation.
    with config_context(skip_parameter_validation=True):
        for name in BUILTIN_METRICS[cfg.task]:
            if name in skipped:
                continue
            try:
                metrics[name] = builtin_metric(
                    name, cfg.task, y, y_pred, proba, classes, cfg.positive_class
                )
            except ValueError as exc:  # e.g. roc_auc on a split holding one class
                skipped[name] = str(exc)
    metrics.update(_summary_metrics(cfg, y, y_pred))
    if custom_fns:
        frame = eval_frame(y, y_pred, proba, classes, cfg.positive_class)
        metrics.update(custom_metric_values(custom_fns, frame, dict(metrics)))
    return SplitScores(metrics, y, y_pred, proba, classes, skipped)


def _summary_metrics(cfg: Task, y: pd.Series, y_pred: np.ndarray) -> dict[str, float]:
    """The extra values MLflow's evaluator logged with every split (``score`` is the estimator's
    own: R² for regressors, accuracy for classifiers)."""
    from sklearn import metrics as m

    if cfg.is_classification:
        return {"score": float(m.accuracy_score(y, y_pred))}
    truth = y.to_numpy(dtype=float)
    return {
        "score": float(m.r2_score(truth, y_pred)),
        "mean_on_target": float(truth.mean()),
        "sum_on_target": float(truth.sum()),
    }


def ordered_metrics(metrics: dict[str, float], primary: str, custom: list[str]) -> list[str]:
    """Primary metric first, then custom metrics, then the rest alphabetically."""
    first = [primary] + [c for c in custom if c != primary]
    return [m for m in first if m in metrics] + sorted(m for m in metrics if m not in first)
