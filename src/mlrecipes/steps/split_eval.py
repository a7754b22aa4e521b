"""Evaluate the fitted pipeline on one split: MLflow's built-in metrics and plots plus the recipe's
custom metrics (and macro/micro F1 for multiclass), logged with a prefix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlrecipes.steps.base import StepContext


@dataclass
class SplitEvaluation:
    metrics: dict[str, float]
    images: dict[str, bytes] = field(default_factory=dict)


def custom_metric_functions(ctx: StepContext) -> dict[str, Any]:
    from mlrecipes.user_code import load_function

    return {
        m.name: load_function(ctx.root, "custom_metrics", m.function)
        for m in ctx.config.custom_metrics
    }


def evaluate_split(
    ctx: StepContext,
    tracker: Any,
    sk_model: Any,
    pipeline: Any,
    data: pd.DataFrame,
    prefix: str,
    model_id: str | None,
    custom_fns: dict[str, Any],
) -> SplitEvaluation:
    from mlrecipes.evaluation import custom_metric_values, eval_frame, multiclass_f1

    cfg = ctx.config
    target = cfg.target_col
    metrics, images = tracker.evaluate(
        sk_model,
        data,
        target=target,
        model_type="classifier" if cfg.is_classification else "regressor",
        prefix=prefix,
        pos_label=cfg.positive_class,
        model_id=model_id,
    )
    X, y = data.drop(columns=[target]), data[target]
    extra: dict[str, float] = {}
    needs_predictions = bool(custom_fns) or cfg.task == "classification/multiclass"
    if needs_predictions:
        y_pred = pipeline.predict(X)
        proba, classes = None, None
        if cfg.is_classification and hasattr(pipeline, "predict_proba"):
            proba, classes = pipeline.predict_proba(X), list(pipeline.classes_)
        if cfg.task == "classification/multiclass":
            extra.update(multiclass_f1(y, y_pred))
        if custom_fns:
            eval_df = eval_frame(y, y_pred, proba, classes, cfg.positive_class)
            extra.update(custom_metric_values(custom_fns, eval_df, {**metrics, **extra}))
    if extra:
        tracker.log_metrics({f"{prefix}{k}": v for k, v in extra.items()})
        metrics.update(extra)
    return SplitEvaluation(metrics=metrics, images=images)


def ordered_metrics(metrics: dict[str, float], primary: str, custom: list[str]) -> list[str]:
    """Primary metric first, then custom metrics, then the rest alphabetically."""
    first = [primary] + [c for c in custom if c != primary]
    return [m for m in first if m in metrics] + sorted(m for m in metrics if m not in first)
