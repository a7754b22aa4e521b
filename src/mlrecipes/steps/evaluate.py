"""evaluate: test-set metrics and plots, logged to the train run, and the validation_criteria verdict.

Writes ``model_validation_status`` (VALIDATED / REJECTED / UNKNOWN); register acts on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.tracking.client import Tracker


class Criterion(Block):
    metric: str
    threshold: float


class EvaluateConfig(StepBlock):
    validation_criteria: list[Criterion] = Field(default_factory=list)


class EvaluateStep(Step):
    name = "evaluate"
    config_model = EvaluateConfig
    inputs = ("split", "train")
    outputs = (
        Output("model_validation_status", "model_validation_status"),
        Output("validation_results", "validation_results.json"),
        Output("metrics", "metrics.json"),
        Output("plots", "plots"),
        # binary classifiers with scores: what monitoring compares each scoring window with
        Output("monitoring_reference", "monitoring_reference.json", logged=True),
    )
    user_code_modules = ("custom_metrics",)
    uses_tracking = True

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.evaluate),
            "target_col": config.target_col,
            "task": config.task,
            "positive_class": config.positive_class,
            "primary_metric": config.primary,
            "custom_metrics": [dump(m) for m in config.custom_metrics],
        }

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        return ("custom_metrics",) if config.custom_metrics else ()

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.config.metrics import check_criteria
        from mlrecipes.io.user_code import custom_metric_functions
        from mlrecipes.modeling.evaluation import split_scores

        cfg = ctx.config
        info = ctx.read_json("train", "model_info")
        val_metrics = ctx.read_json("train", "metrics")["validation"]
        pipeline = _trained_pipeline(ctx)
        tracker = ctx.tracker()
        directions = cfg.metric_directions
        tracker.set_experiment_tags(
            {
                "mlflow.experiment.primaryMetric.name": f"test_{cfg.primary}",
                "mlflow.experiment.primaryMetric.greaterIsBetter": str(directions[cfg.primary]),
            }
        )
        with tracker.run(run_id=info["run_id"]):
            test = ctx.read_frame("split", "test")
            scores = split_scores(cfg, pipeline, test, custom_metric_functions(ctx.root, cfg))
            tracker.log_metrics(
                {f"test_{k}": v for k, v in scores.metrics.items()}, model_id=info["model_id"]
            )
            images = _log_plots(ctx, tracker, scores)
            _check_criteria_computable(cfg, scores.skipped)
            criteria = [(c.metric, c.threshold) for c in cfg.steps.evaluate.validation_criteria]
            status, checks = check_criteria(scores.metrics, criteria, directions)
            tracker.set_tags({"mlrecipes.model_validation_status": status})
            reference = _monitoring_reference(ctx, info, scores)
            if reference is not None:
                ctx.write_json("monitoring_reference", reference)
                ctx.log_output("monitoring_reference")
            _write_results(ctx, status, val_metrics, scores.metrics, checks)
            card = ctx.new_card()
            with ctx.card_work():
                _fill_card(card, cfg, val_metrics, scores.metrics, checks, status, images, info)
                _skipped_metrics(card, scores.skipped)
                _importance_tab(card, ctx, pipeline)
                from mlrecipes.cards.render import render_html

                tracker.log_text(render_html(card), "evaluate/card.html")

        summary = {
            "metrics": {"validation": val_metrics, "test": scores.metrics},
            "skipped_metrics": scores.skipped,
            "primary_metric": cfg.primary,
            "model_validation_status": status,
            "validation_results": [c.describe() for c in checks],
            "criteria": [
                {
                    "metric": c.metric,
                    "threshold": c.threshold,
                    "greater_is_better": c.greater_is_better,
                }
                for c in checks
            ],
        }
        return StepResult(summary=summary, card=card)

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        """``VALIDATED: roc_auc 0.852 ≥ 0.8``: the status, the primary metric on the test split
        and its criterion."""
        primary = summary.get("primary_metric")
        value = (summary.get("metrics", {}).get("test") or {}).get(primary)
        shown = f"{primary} {value:.3f}" if isinstance(value, float) else ""
        for criterion in summary.get("criteria") or []:
            if criterion["metric"] == primary:
                op = "≥" if criterion["greater_is_better"] else "≤"
                shown += f" {op} {criterion['threshold']:g}"
                break
        return f"{summary.get('model_validation_status', '')}: {shown}".strip().rstrip(":")


def _trained_pipeline(ctx: StepContext) -> Any:
    """train's fitted pipeline: from this process when train ran in it, else its sklearn model."""
    from mlrecipes.io.user_code import ensure_importable
    from mlrecipes.tracking.loading import load_pyfunc

    pipeline = ctx.memory.frames.get(("train", "pipeline"))
    if pipeline is None:
        ensure_importable(ctx.root)  # the pipeline references functions in steps/*.py
        pipeline = load_pyfunc(ctx.input_path("train", "sk_model")).get_raw_model()
    return pipeline


def _log_plots(ctx: StepContext, tracker: Tracker, scores: Any) -> dict[str, bytes]:
    images = _plots(ctx.config, scores)
    plot_dir = ctx.output_path("plots")
    plot_dir.mkdir()
    for key, png in images.items():
        (plot_dir / f"test_{key}.png").write_bytes(png)
    tracker.log_artifacts(plot_dir, "evaluate/plots")
    return images


def _write_results(
    ctx: StepContext,
    status: str,
    val_metrics: dict[str, float],
    test_metrics: dict[str, float],
    checks: list[Any],
) -> None:
    ctx.write_text("model_validation_status", status)
    ctx.write_json("metrics", {"validation": val_metrics, "test": test_metrics})
    ctx.write_json(
        "validation_results",
        [
            {
                "metric": c.metric,
                "value": c.value,
                "threshold": c.threshold,
                "greater_is_better": c.greater_is_better,
                "passed": c.passed,
                "description": c.describe(),
            }
            for c in checks
        ],
    )


def _monitoring_reference(ctx: StepContext, info: dict[str, Any], scores: Any) -> Any:
    """The model's monitoring reference (binary recipes with probabilities, and regression):
    its training columns, its scores (or predictions) and metrics on the test split, its labels'
    cut-off."""
    cfg = ctx.config
    predict = cfg.steps.predict
    if cfg.task == "regression":
        from mlrecipes.monitoring.reference import regression_reference

        return regression_reference(
            ctx.read_frame("split", "train"),
            info["feature_columns"],
            list(predict.id_columns) if predict is not None else [],
            scores.y.to_numpy(dtype=float),
            scores.y_pred.astype(float),
        )
    if cfg.task != "classification/binary" or scores.proba is None:
        return None
    from mlrecipes.modeling.estimators import positive_scores
    from mlrecipes.monitoring.reference import reference_summary

    p = positive_scores(scores.proba, scores.classes, cfg.positive_class)
    threshold = info.get("decision_threshold")
    return reference_summary(
        ctx.read_frame("split", "train"),
        info["feature_columns"],
        list(predict.id_columns) if predict is not None else [],
        (scores.y == cfg.positive_class).to_numpy(),
        p,
        0.5 if threshold is None else float(threshold),
    )


def _check_criteria_computable(cfg: RecipeConfig, skipped: dict[str, str]) -> None:
    """A criterion on a metric that could not be computed is a configuration error, not a
    rejection: no threshold can ever pass it."""
    from mlrecipes.errors import ConfigError

    for i, criterion in enumerate(cfg.steps.evaluate.validation_criteria):
        if criterion.metric in skipped:
            raise ConfigError(
                f"recipe.yaml: steps.evaluate.validation_criteria[{i}].metric: "
                f"{criterion.metric} was not computed on the test split: {skipped[criterion.metric]}"
            )


def _skipped_metrics(card: Any, skipped: dict[str, str]) -> None:
    if not skipped:
        return
    import pandas as pd

    card.tab("Model Performance (Test)").table(
        pd.DataFrame({"metric": list(skipped), "why it was skipped": list(skipped.values())}),
        title="Metrics not computed",
    )


def _plots(cfg: RecipeConfig, scores: Any) -> dict[str, bytes]:
    """Diagnostic plots of the test split, logged to the run and shown on the card."""
    from mlrecipes.cards.plots import classifier_plots, regression_plots

    if not cfg.is_classification:
        return regression_plots(scores.y.to_numpy(), scores.y_pred)
    return classifier_plots(
        scores.y.to_numpy(), scores.y_pred, scores.proba, scores.classes, cfg.positive_class
    )


_PLOTS = (
    ("roc_curve_plot", "ROC curve"),
    ("precision_recall_curve_plot", "Precision-recall curve"),
    ("confusion_matrix", "Confusion matrix"),
    ("calibration_curve_plot", "Calibration curve"),
    ("lift_curve_plot", "Lift curve"),
    ("predicted_vs_actual_plot", "Predicted vs actual"),
    ("residuals_plot", "Residuals"),
)


def _fill_card(
    card: Any,
    cfg: RecipeConfig,
    val: dict[str, float],
    test: dict[str, float],
    checks: list,
    status: str,
    images: dict[str, bytes],
    info: dict[str, Any],
) -> None:
    import pandas as pd

    from mlrecipes.modeling.evaluation import ordered_metrics

    names = ordered_metrics(test, cfg.primary, [m.name for m in cfg.custom_metrics])
    perf = card.tab("Model Performance (Test)")
    perf.text(
        "Test metrics estimate performance on unseen data; tune against validation metrics only."
    )
    perf.table(
        pd.DataFrame(
            {
                "metric": names,
                "validation": [val.get(n) for n in names],
                "test": [test.get(n) for n in names],
            }
        )
    )
    _validation_tab(card.tab("Model Validation"), checks, status)
    plots = card.tab("Model Performance Plots")
    for key, title in _PLOTS:
        if key in images:
            plots.image(images[key], title=f"{title} (test)")
    if cfg.is_classification and "roc_curve_plot" not in images:
        plots.text("Score-based plots need an estimator with predict_proba.")
    card.tab("Run Summary").kv(
        {
            "MLflow Run ID": info["run_id"],
            "MLflow Model URI": info["model_uri"],
            "Validation status": status,
        }
    )


def _validation_tab(tab: Any, checks: list, status: str) -> None:
    import pandas as pd

    tab.text(f"Validation status: {status}")
    if not checks:
        tab.text("No validation_criteria in recipe.yaml: the status is UNKNOWN.")
        return
    rows = [
        {
            "metric": c.metric,
            "greater_is_better": c.greater_is_better,
            "value": c.value,
            "threshold": c.threshold,
            "validated": "PASS" if c.passed else "FAIL",  # emoji fonts are not everywhere
        }
        for c in checks
    ]
    tab.table(pd.DataFrame(rows), title="Model Validation Results (Test Dataset)")


def _importance_tab(card: Any, ctx: StepContext, pipeline: Any) -> None:
    """Permutation importance of the raw input columns on the validation split."""
    from mlrecipes.cards.plots import importance_bar_chart
    from mlrecipes.modeling.estimators import permutation_importance
    from mlrecipes.modeling.evaluation import (
        accuracy_by_block,
        negative_rmse_by_block,
        roc_auc_by_block,
    )

    cfg = ctx.config
    validation = ctx.read_frame("split", "validation")
    X, y = validation.drop(columns=[cfg.target_col]), validation[cfg.target_col]
    has_proba = cfg.is_classification and hasattr(pipeline, "predict_proba")
    if cfg.task == "classification/binary" and has_proba:
        metric = "roc_auc"
    elif cfg.is_classification:
        metric = "accuracy_score"
    else:
        metric = "root_mean_squared_error"

    if metric == "roc_auc":
        column = list(pipeline.classes_).index(cfg.positive_class)

        def predict(frame: Any) -> Any:
            return pipeline.predict_proba(frame)[:, column]

        def by_block(truth: Any, scores: Any) -> Any:
            return roc_auc_by_block(truth == cfg.positive_class, scores)

    else:
        predict = pipeline.predict
        by_block = accuracy_by_block if cfg.is_classification else negative_rmse_by_block
    table = permutation_importance(predict, by_block, X, y, n_repeats=3)
    tab = card.tab("Feature Importance")
    shown = "negative RMSE" if metric == "root_mean_squared_error" else metric
    tab.image(importance_bar_chart(table, shown), title=f"Permutation importance ({shown})")
    tab.table(table.round(5), title="Drop in the metric when each input column is shuffled")
