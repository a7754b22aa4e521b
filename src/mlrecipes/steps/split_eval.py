"""Scoring one split: the recipe's built-in metrics (scikit-learn) and its custom metrics.

train (training and validation splits) and evaluate (test split) share this, so a metric has
one definition everywhere, tuning trials included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlrecipes.steps.base import StepContext


@dataclass
class SplitScores:
    """Metrics of one split, with the predictions they came from."""

    metrics: dict[str, float]
    y: pd.Series
    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: list | None


def custom_metric_functions(ctx: StepContext) -> dict[str, Any]:
    from mlrecipes.user_code import load_function

    return {
        m.name: load_function(ctx.root, "custom_metrics", m.function)
        for m in ctx.config.custom_metrics
    }


def split_scores(
    ctx: StepContext, pipeline: Any, data: pd.DataFrame, custom_fns: dict[str, Any]
) -> SplitScores:
    from sklearn import config_context

    from mlrecipes.evaluation import builtin_metric, custom_metric_values, eval_frame
    from mlrecipes.metrics import BUILTIN_METRICS

    cfg = ctx.config
    X, y = data.drop(columns=[cfg.target_col]), data[cfg.target_col]
    y_pred = np.asarray(pipeline.predict(X))
    proba = classes = None
    if cfg.is_classification and hasattr(pipeline, "predict_proba"):
        proba, classes = pipeline.predict_proba(X), list(pipeline.classes_)
    metrics: dict[str, float] = {"example_count": float(len(data))}
    # The arguments are built here, not by users: skip scikit-learn's per-call validation.
    with config_context(skip_parameter_validation=True):
        for name in BUILTIN_METRICS[cfg.task]:
            try:
                metrics[name] = builtin_metric(
                    name, cfg.task, y, y_pred, proba, classes, cfg.positive_class
                )
            except ValueError:  # e.g. roc_auc without predict_proba
                continue
    if custom_fns:
        frame = eval_frame(y, y_pred, proba, classes, cfg.positive_class)
        metrics.update(custom_metric_values(custom_fns, frame, dict(metrics)))
    return SplitScores(metrics, y, y_pred, proba, classes)


def ordered_metrics(metrics: dict[str, float], primary: str, custom: list[str]) -> list[str]:
    """Primary metric first, then custom metrics, then the rest alphabetically."""
    first = [primary] + [c for c in custom if c != primary]
    return [m for m in first if m in metrics] + sorted(m for m in metrics if m not in first)
