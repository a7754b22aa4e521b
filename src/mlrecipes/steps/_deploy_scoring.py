"""deploy's measurements: the champion and the challenger scored on the same clean holdout, and their paired bootstrap comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlrecipes.steps.base import StepContext

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.deployment.bootstrap import PairedDifference, Scored
    from mlrecipes.tracking.client import Tracker


REPORTED = {
    "classification/binary": ("roc_auc", "log_loss", "brier_score", "precision_recall_auc"),
    "classification/multiclass": ("accuracy_score", "f1_score_macro", "log_loss"),
    "regression": ("root_mean_squared_error", "mean_absolute_error", "r2_score"),
}


def _score(tracker: Tracker, config: RecipeConfig, name: str, version: str, holdout: Any) -> Scored:
    """The registered pyfunc's predictions on the holdout, as arrays; a model whose
    predictions hold NaN is named (a comparison on them would be meaningless)."""
    scored = _predictions(tracker, config, f"models:/{name}/{version}", holdout)
    for what, values in (("scores", scored.scores), ("predictions", scored.labels)):
        if values is None or values.dtype.kind not in "fc":
            continue
        missing = int(np.isnan(values).sum())
        if missing:
            from mlrecipes.errors import DatasetError

            raise DatasetError(
                f"version {version} of {name} returned NaN {what} for {missing} of "
                f"{len(holdout)} holdout rows: it cannot be compared; fix the model (or its "
                "inputs) and register it again"
            )
    return scored


def _predictions(tracker: Tracker, config: RecipeConfig, uri: str, holdout: Any) -> Scored:
    import pandas as pd

    from mlrecipes.deployment.bootstrap import Scored

    model = tracker.load_model(uri)
    out = model.predict(holdout.drop(columns=[config.target_col]))
    if not config.is_classification:
        values = out.iloc[:, 0] if isinstance(out, pd.DataFrame) else out
        return Scored(np.asarray(values, dtype=float).reshape(-1))
    frame = out if isinstance(out, pd.DataFrame) else pd.DataFrame({"label": np.asarray(out)})
    label = next((c for c in frame.columns if str(c).endswith("label")), frame.columns[0])
    labels = frame[label].to_numpy()
    if config.task == "classification/binary":
        column = next(
            (c for c in frame.columns if str(c).endswith(f"score_{config.positive_class}")), None
        )
        scores = None if column is None else frame[column].to_numpy(dtype=float)
        return Scored(labels, scores)
    columns = [c for c in frame.columns if "score_" in str(c)]
    classes = tuple(str(c).split("score_", 1)[1] for c in columns)
    matrix = frame[columns].to_numpy(dtype=float) if columns else None
    return Scored(labels, matrix, classes or None)


def _metric_fn(ctx: StepContext, holdout: Any, name: str) -> Any:
    """The resampled form of metric ``name`` on the holdout (deployment/bootstrap.py)."""
    import pandas as pd

    from mlrecipes.deployment.bootstrap import resampled_metric
    from mlrecipes.io.user_code import custom_metric_functions
    from mlrecipes.modeling.evaluation import builtin_metric, eval_frame

    config = ctx.config
    truth = holdout[config.target_col].to_numpy()
    custom = {m.name for m in config.custom_metrics}
    functions = custom_metric_functions(ctx.root, config) if name in custom else {}

    truth_classes = sorted(pd.unique(truth).tolist(), key=str)

    def one(rows: np.ndarray, s: Scored) -> float:
        y = pd.Series(truth[rows])
        proba, classes = _proba(s, rows, truth_classes, config.positive_class)
        if name in functions:
            from mlrecipes.modeling.evaluation import custom_metric_values

            frame = eval_frame(y, s.labels[rows], proba, classes, config.positive_class)
            return custom_metric_values({name: functions[name]}, frame, {})[name]
        if name == "precision_recall_auc" and s.scores is not None and s.scores.ndim == 1:
            from sklearn.metrics import average_precision_score

            return float(average_precision_score(y == config.positive_class, s.scores[rows]))
        return builtin_metric(
            name, config.task, y, s.labels[rows], proba, classes, config.positive_class
        )

    return resampled_metric(name, config.task, truth, config.positive_class, fallback=one)


def _proba(s: Scored, rows: np.ndarray, classes: list, positive: Any) -> tuple[Any, Any]:
    """Class probabilities of ``rows`` as builtin_metric takes them (None: the model has none)."""
    if s.scores is None:
        return None, None
    if s.scores.ndim == 1:  # binary: P(positive) and its complement, in the truth's classes
        p = s.scores[rows]
        return np.column_stack([p if c == positive else 1 - p for c in classes]), classes
    return s.scores[rows], list(s.classes or ())


def _compare(
    ctx: StepContext,
    bootstrap: tuple[int, float, int],
    holdout: Any,
    champion: Scored,
    challenger: Scored,
) -> PairedDifference:
    """The paired bootstrap of the primary metric; ``bootstrap``: (resamples, confidence, seed)."""
    from mlrecipes.deployment.bootstrap import paired_bootstrap

    config = ctx.config
    primary = config.primary
    return paired_bootstrap(
        primary,
        config.metric_directions[primary],
        _metric_fn(ctx, holdout, primary),
        champion,
        challenger,
        len(holdout),
        resamples=bootstrap[0],
        confidence=bootstrap[1],
        seed=bootstrap[2],
    )


def _reported(ctx: StepContext, holdout: Any, scored: Scored) -> dict[str, float]:
    """The primary metric and the task's usual ones on the whole holdout (those computable)."""
    config = ctx.config
    names = dict.fromkeys([config.primary, *REPORTED[config.task]])
    identity = np.arange(len(holdout))[np.newaxis, :]
    values = {}
    for name in names:
        try:
            values[name] = float(_metric_fn(ctx, holdout, name)(identity, scored)[0])
        except (ValueError, TypeError):  # e.g. probabilities asked of a hinge classifier
            continue
    return values
