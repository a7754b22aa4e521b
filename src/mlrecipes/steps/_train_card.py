"""train's card: the fitted model, its scores and plots, the leaderboard of the experiment's runs, the worst predictions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlrecipes.errors import TrackingError
from mlrecipes.modeling.estimators import (
    flat_params,
    positive_scores,
    prediction_error,
)
from mlrecipes.modeling.evaluation import (
    SplitScores,
    ordered_metrics,
)
from mlrecipes.steps.base import StepContext

if TYPE_CHECKING:
    from mlrecipes.tracking.client import Tracker
from mlrecipes.steps._train_fit import uncalibrated_scores


def card_images(
    ctx: StepContext, pipeline: Any, val_raw: pd.DataFrame, validation: SplitScores
) -> dict[str, bytes]:
    """The train card's plots: with ``calibrate_proba``, the validation calibration curve
    before and after calibration (before: the same fold models' own probabilities).

    (The evaluate card always shows the calibration curve of the test split.)
    """
    tcfg = ctx.config.steps.train
    calibrated = tcfg is not None and tcfg.calibrate_proba is not None
    if not calibrated or ctx.config.task != "classification/binary" or validation.proba is None:
        return {}
    from mlrecipes.cards.plots import calibration_comparison

    positive = ctx.config.positive_class
    after = positive_scores(validation.proba, validation.classes, positive)
    curves = {f"after ({tcfg.calibrate_proba})": after}
    before = uncalibrated_scores(pipeline, val_raw.drop(columns=[ctx.config.target_col]), positive)
    if before is not None:
        curves = {"before (uncalibrated)": before, **curves}
    is_positive = (validation.y == positive).to_numpy()
    title = "Calibration (validation)"
    return {"calibration_curve_plot": calibration_comparison(is_positive, curves, title)}


def best_parameters_yaml(estimator: Any, hardcoded: dict[str, Any], tuning: Any) -> str:
    import yaml

    def dump_section(title: str, values: dict[str, Any]) -> str:
        if not values:
            return ""
        plain = {k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()}
        safe = {
            k: (v if isinstance(v, bool | int | float | str | type(None)) else str(v))
            for k, v in plain.items()
        }
        return f"# {title}\n" + yaml.safe_dump(safe, sort_keys=True)

    tuned = {}
    if tuning is not None:
        tuned = {k: v for k, v in tuning.best_params.items() if k not in hardcoded}
    defaults = {
        k: v for k, v in flat_params(estimator).items() if k not in hardcoded and k not in tuned
    }
    return "".join(
        [
            dump_section("tuned hyperparameters", tuned),
            dump_section("hardcoded parameters", hardcoded),
            dump_section("default parameters", defaults),
        ]
    )


def predicted_training_data(
    train_raw: pd.DataFrame, scores: SplitScores, positive: Any = None
) -> pd.DataFrame:
    """The raw training rows with the model's prediction and score (MLflow Recipes' names; the
    score is P(positive class) for binary recipes, as the registered model's)."""
    out = train_raw.copy()
    out["predicted_data"] = scores.y_pred
    if scores.proba is not None:
        if positive is not None and scores.classes and positive in scores.classes:
            out["predicted_score"] = positive_scores(scores.proba, scores.classes, positive)
        else:
            out["predicted_score"] = scores.proba.max(axis=1)
    return out


def worst_predictions(
    val_raw: pd.DataFrame, target: str, positive: Any, scores: SplitScores, n: int = 10
) -> pd.DataFrame:
    """Validation rows with the largest error, from the predictions already scored."""
    error = prediction_error(scores.y, scores.y_pred, scores.proba, scores.classes, positive)
    frame = pd.DataFrame(
        {"absolute_error": np.abs(error), "prediction": scores.y_pred, target: scores.y.to_numpy()}
    )
    X = val_raw.drop(columns=[target]).reset_index(drop=True)
    frame = pd.concat([frame, X], axis=1)
    return frame.sort_values("absolute_error", ascending=False).head(n)


def fill_card(
    card: Any,
    ctx: StepContext,
    tracker: Tracker,
    pipeline: Any,
    metrics: dict[str, dict[str, float]],
    images: dict[str, bytes],
    worst: pd.DataFrame,
    tuning: Any,
    best_parameters: str,
    info: dict[str, Any],
) -> None:
    from mlrecipes.cards.estimators import estimator_html

    cfg = ctx.config
    custom = [m.name for m in cfg.custom_metrics]
    names = ordered_metrics(metrics["validation"], cfg.primary, custom)
    table = pd.DataFrame(
        {
            "metric": names,
            "training": [metrics["training"].get(n) for n in names],
            "validation": [metrics["validation"].get(n) for n in names],
        }
    )
    perf = card.tab("Model Performance")
    perf.text(f"Primary metric: {cfg.primary}. Custom metrics: {', '.join(custom) or 'none'}.")
    perf.table(table, title="Summary Metrics (Validation)")
    card.tab("Model Architecture").html(estimator_html(pipeline))
    card.tab("Worst Predictions").rows(worst, title="Validation rows with the largest error")
    if "calibration_curve_plot" in images:
        card.tab("Prob. Calibration").image(
            images["calibration_curve_plot"], "Calibration (validation)"
        )
    leaderboard_tab(
        card.tab("Leaderboard"),
        tracker,
        cfg.primary,
        cfg.metric_directions[cfg.primary],
        info["run_id"],
    )
    card.tab("Best Parameters").code(best_parameters or "(none)")
    if tuning is not None:
        _trials_tab(
            card.tab("Tuning Trials"), tuning, cfg.primary, cfg.metric_directions[cfg.primary]
        )
    card.tab("Run Summary").kv(
        {
            "MLflow Run ID": info["run_id"],
            "MLflow Model URI": info["model_uri"],
            "Estimator": info["estimator_class"],
            "Decision threshold (P(positive) for predicted_label)": (
                info.get("decision_threshold")
                if info.get("decision_threshold") is not None
                else "the estimator's own predict"
            ),
            "Tracking URI": info["tracking_uri"],
        }
    )


def _trials_tab(tab: Any, tuning: Any, primary: str, greater: bool) -> None:
    """The ten best tuning trials by the primary metric."""
    trials = pd.DataFrame(
        [
            {"rank": 0, primary: t.metric, **{k: str(v) for k, v in t.params.items()}}
            for t in tuning.trials
        ]
    )
    trials = trials.sort_values(primary, ascending=not greater)
    trials["rank"] = range(1, len(trials) + 1)
    tab.text(
        f"{len(tuning.trials)} trials; "
        + ("the hard-coded parameters beat every sampled trial." if tuning.baseline_won else "")
    )
    tab.table(trials.head(10), title="Top 10 trials")


def leaderboard_tab(tab: Any, tracker: Tracker, primary: str, greater: bool, run_id: str) -> None:
    """The Leaderboard tab; a failed MLflow query is said as such, not shown as "no runs"."""
    try:
        leaderboard = _leaderboard(tracker, primary, greater, run_id)
    except TrackingError as exc:  # the card says so; the model itself is fine
        tab.text(
            f"The leaderboard query to MLflow failed ({type(exc).__name__}: {exc}); "
            "the runs could not be ranked."
        )
        return
    if leaderboard is not None and not leaderboard.empty:
        tab.table(leaderboard, title=f"Runs in this experiment ranked by val_{primary}")
    else:
        tab.text("No finished runs with validation metrics in this experiment yet.")


def _leaderboard(
    tracker: Tracker, primary: str, greater: bool, current_run: str, top_n: int = 10, cap: int = 100
) -> pd.DataFrame | None:
    """The experiment's best finished runs by validation metric, plus this run with its rank.

    Bounded queries: the top ``top_n`` finished runs, this run, and only when this run is not
    among the top, the finished runs that beat it (at most ``cap``). Loading every run of a
    long-lived experiment took ~0.2 s of card time per 100 runs.
    """
    column = f"metrics.val_{primary}"
    order = [f"{column} {'DESC' if greater else 'ASC'}"]
    finished = "attributes.status = 'FINISHED'"
    top = tracker.search_runs(order, top_n, finished)
    current = tracker.search_runs(order, 1, f"attributes.run_id = '{current_run}'")
    if current.empty or column not in current or pd.isna(current[column].iloc[0]):
        return None
    value = float(current[column].iloc[0])
    n_better = None  # None: every finished run that beats this one is in `top`
    in_top = column in top and _at_least(value, top[column].iloc[-1], greater)
    if len(top) == top_n and not in_top:
        op = ">" if greater else "<"
        beating = tracker.search_runs(order, cap, f"{finished} and {column} {op} {value!r}")
        n_better = len(beating)
    return leaderboard_table(top, current, column, greater, n_better, cap)


def _at_least(a: float, b: float, greater: bool) -> bool:
    return a >= b if greater else a <= b


def leaderboard_table(
    top: pd.DataFrame,
    current: pd.DataFrame,
    column: str,
    greater: bool,
    n_better: int | None,
    cap: int,
) -> pd.DataFrame:
    """Rank ``top`` (the best finished runs, best first) and ``current`` together.

    A top run's rank is exact: every run better than it is in ``top`` (or is ``current``).
    ``current``'s rank comes from ``n_better`` when given (``cap`` means "more than cap").
    """
    current_id = current["run_id"].iloc[0]
    top = top[top["run_id"] != current_id] if "run_id" in top else top
    if column in top:
        top = top[top[column].notna()]
    # Columns that are all null (a tag no run has) are left out: pandas' concat warns on them.
    frame = pd.concat(
        [f.dropna(axis=1, how="all") for f in (top, current) if not f.empty], ignore_index=True
    )
    values = frame[column].to_numpy(dtype=float)
    beats = (values[None, :] > values[:, None]) if greater else (values[None, :] < values[:, None])
    ranks: list[Any] = list(1 + beats.sum(axis=1))
    is_current = (frame["run_id"] == current_id).to_numpy()
    position = int(np.flatnonzero(is_current)[0])
    if n_better is not None:
        ranks[position] = f"> {cap}" if n_better >= cap else n_better + 1
    frame["rank"] = ranks
    frame["latest"] = np.where(is_current, "← this run", "")
    frame["_order"] = [r if isinstance(r, int | np.integer) else cap + 1 for r in ranks]
    shown = frame.sort_values(["_order", "latest"], ascending=[True, False])
    keep = ["rank", "run_id", "tags.mlflow.runName", column, "start_time", "latest"]
    out = shown[[k for k in keep if k in shown.columns]].rename(
        columns={"tags.mlflow.runName": "run_name", column: column.removeprefix("metrics.")}
    )
    out["rank"] = out["rank"].astype(str)
    if "start_time" in out:
        out["start_time"] = out["start_time"].astype(str)
    return out.reset_index(drop=True)
