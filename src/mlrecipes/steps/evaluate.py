"""evaluate: test-set metrics and plots, logged to the train run, and the validation_criteria verdict.

Writes ``model_validation_status`` (VALIDATED / REJECTED / UNKNOWN); register acts on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.process.forked import Background
from mlrecipes.steps._evaluate_card import (
    IMPORTANCE_PLOT,
    fill_card,
    importance_tab,
    permutation_importance_of,
    plots,
    skipped_metrics,
)
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
        from mlrecipes.io.user_code import custom_metric_functions
        from mlrecipes.modeling.evaluation import split_scores

        cfg = ctx.config
        info = ctx.read_json("train", "model_info")
        val_metrics = ctx.read_json("train", "metrics")["validation"]
        pipeline = _trained_pipeline(ctx)
        tracker = ctx.tracker()
        tracker.set_experiment_tags(
            {
                "mlflow.experiment.primaryMetric.name": f"test_{cfg.primary}",
                "mlflow.experiment.primaryMetric.greaterIsBetter": str(
                    cfg.metric_directions[cfg.primary]
                ),
            }
        )
        with tracker.run(run_id=info["run_id"]):
            test = ctx.read_frame("split", "test")
            scores = split_scores(cfg, pipeline, test, custom_metric_functions(ctx.root, cfg))
            with ctx.card_work():
                importance = permutation_importance_of(ctx, pipeline)
            # the figures (matplotlib's import is most of their time) are drawn on the other
            # core while this process logs, checks and builds the reference
            drawing = Background(lambda: plots(cfg, scores, importance), "the evaluation plots")
            try:
                status, checks = _verdict(ctx, tracker, info, scores)
                _write_results(ctx, status, val_metrics, scores.metrics, checks)
                images = drawing.result()
            finally:
                drawing.cancel()
            _log_plots(ctx, tracker, images)
            card = ctx.new_card()
            with ctx.card_work():
                fill_card(card, cfg, val_metrics, scores.metrics, checks, status, images, info)
                skipped_metrics(card, scores.skipped)
                importance_tab(card, importance, images)
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


def _verdict(
    ctx: StepContext, tracker: Tracker, info: dict[str, Any], scores: Any
) -> tuple[str, list[Any]]:
    """The test metrics logged, the validation criteria judged (status tagged on the run), and
    the monitoring reference written; returns (status, checks)."""
    from mlrecipes.config.metrics import check_criteria

    cfg = ctx.config
    tracker.log_metrics(
        {f"test_{k}": v for k, v in scores.metrics.items()}, model_id=info["model_id"]
    )
    _check_criteria_computable(cfg, scores.skipped)
    criteria = [(c.metric, c.threshold) for c in cfg.steps.evaluate.validation_criteria]
    status, checks = check_criteria(scores.metrics, criteria, cfg.metric_directions)
    tracker.set_tags({"mlrecipes.model_validation_status": status})
    reference = _monitoring_reference(ctx, info, scores)
    if reference is not None:
        ctx.write_json("monitoring_reference", reference)
        ctx.log_output("monitoring_reference")
    return status, checks


def _trained_pipeline(ctx: StepContext) -> Any:
    """train's fitted pipeline: from this process when train ran in it, else its sklearn model."""
    from mlrecipes.io.user_code import ensure_importable
    from mlrecipes.tracking.loading import load_pyfunc

    pipeline = ctx.memory.frames.get(("train", "pipeline"))
    if pipeline is None:
        ensure_importable(ctx.root)  # the pipeline references functions in steps/*.py
        pipeline = load_pyfunc(ctx.input_path("train", "sk_model")).get_raw_model()
    return pipeline


def _log_plots(ctx: StepContext, tracker: Tracker, images: dict[str, bytes]) -> None:
    plot_dir = ctx.output_path("plots")
    plot_dir.mkdir()
    for key, png in images.items():
        if key != IMPORTANCE_PLOT:
            (plot_dir / f"test_{key}.png").write_bytes(png)
    tracker.log_artifacts(plot_dir, "evaluate/plots")


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
