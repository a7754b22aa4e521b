"""train's fitting: the estimator from the user's function, tuning, rebalancing, calibration, the decision threshold, and the scores of the fitted pipeline on train and validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlrecipes.errors import UserCodeError
from mlrecipes.io.user_code import call_user_function, custom_metric_functions, load_function
from mlrecipes.modeling.estimators import (
    check_estimator,
    positive_scores,
)
from mlrecipes.modeling.evaluation import (
    SplitScores,
    split_scores,
)
from mlrecipes.steps.base import StepContext

if TYPE_CHECKING:
    from mlrecipes.tracking.client import Tracker


def estimator_builder(root: Path, method: str) -> Callable[[dict[str, Any]], Any]:
    fn = load_function(root, "train", method)
    where = f"steps/train.py:{method}"

    def build(params: dict[str, Any]) -> Any:
        # MLflow Recipes' contract: one positional dict when there are parameters, else no arguments.
        estimator = (
            call_user_function(fn, where, dict(params)) if params else call_user_function(fn, where)
        )
        check_estimator(estimator, where)
        return estimator

    return build


def transformer_outputs_frame(transformer: Any, X_raw: pd.DataFrame) -> bool:
    return isinstance(transformer.transform(X_raw.head(2).copy()), pd.DataFrame)


def check_probability_metrics(config: Any, estimator: Any, calibrated: bool, method: str) -> None:
    """A metric that needs probabilities, asked of an estimator without them, is a config error
    (before anything is trained or logged), naming the key that asks for it."""
    from mlrecipes.config.metrics import PROBABILITY_METRICS
    from mlrecipes.errors import ConfigError
    from mlrecipes.modeling.evaluation import no_proba_reason

    if not config.is_classification or calibrated or hasattr(estimator, "predict_proba"):
        return
    asked = []
    if config.primary in PROBABILITY_METRICS:
        asked.append(f"primary_metric: {config.primary}")
    for i, criterion in enumerate(config.steps.evaluate.validation_criteria):
        if criterion.metric in PROBABILITY_METRICS:
            asked.append(f"steps.evaluate.validation_criteria[{i}].metric: {criterion.metric}")
    if asked:
        raise ConfigError(
            f"recipe.yaml: {'; '.join(asked)} cannot be computed: the metric "
            f"{no_proba_reason(estimator)} (steps/train.py:{method}). Use a label metric "
            "(f1_score, precision_score, recall_score, accuracy_score) instead"
        )


def make_estimator(
    build: Callable[[dict[str, Any]], Any], params: dict[str, Any], class_weight: Any, method: str
) -> Any:
    estimator = build(params)
    if class_weight is not None and "class_weight" not in params:
        try:
            if "class_weight" in estimator.get_params():
                estimator.set_params(class_weight=class_weight)
        except Exception as exc:
            raise UserCodeError(
                f"steps/train.py:{method}: could not set class_weight after rebalancing: {exc}"
            ) from exc
    return estimator


def fit_estimator(
    estimator: Any, X: pd.DataFrame, y: pd.Series, calibrate: str | None, method: str
) -> Any:
    where = f"steps/train.py:{method} .fit()"
    if calibrate:
        from sklearn.calibration import CalibratedClassifierCV

        estimator = CalibratedClassifierCV(estimator, method=calibrate, cv=5)
        where = f"steps/train.py:{method} (calibrated with {calibrate}) .fit()"
    call_user_function(estimator.fit, where, X, y)
    return estimator


def apply_decision_threshold(
    config: Any, tcfg: Any, fitted: Any, X: Any, y: Any, X_val: Any, y_val: Any
) -> tuple[Any, float | None]:
    """``fitted`` labelling with ``train.decision_threshold`` (binary recipes), and the cut-off.

    ``best_f1`` is chosen on the validation split, so validation F1 is optimistic; the test
    split (evaluate) stays an honest estimate."""
    from mlrecipes.errors import ConfigError
    from mlrecipes.modeling.estimators import best_f1_threshold, with_threshold

    wanted = tcfg.decision_threshold
    if wanted is None:
        return fitted, None
    if config.task != "classification/binary" or not hasattr(fitted, "predict_proba"):
        raise ConfigError(
            "recipe.yaml: steps.train.decision_threshold applies to binary classifiers with "
            f"predict_proba (positive_class set); this recipe is {config.task} with "
            f"{type(fitted).__name__}"
        )
    positive = config.positive_class
    if wanted == "best_f1":
        scores = positive_scores(fitted.predict_proba(X_val), list(fitted.classes_), positive)
        threshold = round(best_f1_threshold((y_val == positive).to_numpy(), scores), 6)
    else:
        threshold = float(wanted)
    # the registered model applies the same number to P(positive) (pyfunc_model.py)
    return with_threshold(fitted, X, y, threshold, positive), threshold


def tune(
    ctx: StepContext,
    tracker: Tracker,
    build: Callable[[dict[str, Any]], Any],
    X: pd.DataFrame,
    y: pd.Series,
    X_val: pd.DataFrame,
    y_val: pd.Series,
    hardcoded: dict[str, Any],
    class_weight: Any,
) -> Any:
    from mlrecipes.modeling.evaluation import builtin_metric, custom_metric_values, eval_frame
    from mlrecipes.modeling.tuning import run_search

    cfg = ctx.config
    tcfg = cfg.steps.train
    assert tcfg is not None and tcfg.tuning is not None
    tuning = tcfg.tuning
    primary = cfg.primary
    greater = cfg.metric_directions[primary]
    custom = {m.name: m for m in cfg.custom_metrics}
    custom_fns = custom_metric_functions(ctx.root, ctx.config) if primary in custom else {}
    if tuning.sample_fraction < 1.0:
        rng = np.random.default_rng(42)
        rows = np.sort(rng.choice(len(y), int(len(y) * tuning.sample_fraction), replace=False))
        X_fit = X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]
        y_fit = y.iloc[rows]
    else:
        X_fit, y_fit = X, y
    early_stop = None
    if tuning.early_stop_fn:
        module, _, fn_name = tuning.early_stop_fn.rpartition(".")
        early_stop = load_function(ctx.root, module or "train", fn_name)

    def evaluate(params: dict[str, Any]) -> tuple[float, str | None]:
        estimator = make_estimator(build, params, class_weight, tcfg.estimator_method)
        call_user_function(
            estimator.fit, f"steps/train.py:{tcfg.estimator_method} .fit()", X_fit, y_fit
        )
        y_pred = estimator.predict(X_val)
        proba = None
        classes = list(estimator.classes_) if cfg.is_classification else None
        if cfg.is_classification and hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X_val)
        if primary in custom_fns:
            frame = eval_frame(y_val, y_pred, proba, classes, cfg.positive_class)
            metric = custom_metric_values({primary: custom_fns[primary]}, frame, {})[primary]
        else:
            metric = builtin_metric(
                primary, cfg.task, y_val, y_pred, proba, classes, cfg.positive_class
            )
        run_id = tracker.log_child_run(params, {primary: metric})
        return metric, run_id

    return run_search(tuning, evaluate, greater, hardcoded, early_stop)


@dataclass
class TrainEvaluation:
    training: SplitScores
    validation: SplitScores


def train_and_validation_scores(
    ctx: StepContext, pipeline: Any, train_raw: pd.DataFrame, val_raw: pd.DataFrame
) -> TrainEvaluation:
    """Training and validation scores and metrics (no MLflow: train computes them in a forked
    child while MLflow loads).

    The metrics come from :func:`split_scores` (scikit-learn), not ``mlflow.models.evaluate``:
    that evaluator draws and uploads five matplotlib figures per split (~1.2 s each time, the
    largest cost of a run) and the train card shows none of them.
    """
    custom_fns = custom_metric_functions(ctx.root, ctx.config)
    return TrainEvaluation(
        split_scores(ctx.config, pipeline, train_raw, custom_fns),
        split_scores(ctx.config, pipeline, val_raw, custom_fns),
    )


def log_split_metrics(tracker: Tracker, evaluation: TrainEvaluation, model_id: str) -> None:
    """The training and validation metrics, logged to the run and attached to the model."""
    for prefix, scores in (("training_", evaluation.training), ("val_", evaluation.validation)):
        tracker.log_metrics(
            {f"{prefix}{k}": v for k, v in scores.metrics.items()}, model_id=model_id
        )


def uncalibrated_scores(pipeline: Any, X: pd.DataFrame, positive: Any) -> np.ndarray | None:
    """P(positive) from the estimators inside a CalibratedClassifierCV, averaged: what the
    model would say without calibration."""
    from mlrecipes.modeling.estimators import unwrap_threshold

    calibrated = unwrap_threshold(pipeline[-1])
    members = getattr(calibrated, "calibrated_classifiers_", None)
    if not members:
        return None
    Xt = pipeline[:-1].transform(X.copy())
    probabilities = []
    for member in members:
        estimator = member.estimator
        if not hasattr(estimator, "predict_proba"):
            return None
        proba = estimator.predict_proba(Xt)
        probabilities.append(proba[:, list(estimator.classes_).index(positive)])
    return np.mean(probabilities, axis=0)
