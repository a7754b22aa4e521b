"""evaluate: test-set metrics with mlflow.models.evaluate and the validation_criteria verdict.

Writes ``model_validation_status`` (VALIDATED / REJECTED / UNKNOWN); register acts on it.
"""

from __future__ import annotations

from typing import Any

from mlrecipes.config.schema import RecipeConfig
from mlrecipes.steps.base import Step, StepContext, StepResult, dump
from mlrecipes.steps.outputs import (
    CRITERIA_FILE,
    METRICS_FILE,
    MODEL_INFO_FILE,
    SK_MODEL_DIR,
    STATUS_FILE,
)


class EvaluateStep(Step):
    name = "evaluate"
    inputs = ("split", "train")
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
        from mlrecipes.metrics import check_criteria
        from mlrecipes.steps.split_eval import custom_metric_functions, evaluate_split

        cfg = ctx.config
        info = ctx.read_json("train", MODEL_INFO_FILE)
        val_metrics = ctx.read_json("train", METRICS_FILE)["validation"]
        test = ctx.read_frame("split", "test.parquet")
        from mlrecipes.tracking.models import load_pyfunc
        from mlrecipes.user_code import ensure_importable

        ensure_importable(ctx.root)  # the pipeline references functions in steps/*.py
        sk_model = load_pyfunc(ctx.input_path("train", SK_MODEL_DIR))
        pipeline = ctx.memory.frames.get(("train", "pipeline")) or sk_model.get_raw_model()

        tracker = ctx.tracker()
        directions = cfg.metric_directions
        tracker.set_experiment_tags(
            {
                "mlflow.experiment.primaryMetric.name": f"test_{cfg.primary}",
                "mlflow.experiment.primaryMetric.greaterIsBetter": str(directions[cfg.primary]),
            }
        )
        with tracker.run(run_id=info["run_id"]):
            result = evaluate_split(
                ctx,
                tracker,
                sk_model,
                pipeline,
                test,
                "test_",
                info["model_id"],
                custom_metric_functions(ctx),
            )
            criteria = [(c.metric, c.threshold) for c in cfg.steps.evaluate.validation_criteria]
            status, checks = check_criteria(result.metrics, criteria, directions)
            tracker.set_tags({"mlrecipes.model_validation_status": status})

            ctx.write_text(STATUS_FILE, status)
            ctx.write_json(METRICS_FILE, {"validation": val_metrics, "test": result.metrics})
            ctx.write_json(
                CRITERIA_FILE,
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
            card = ctx.new_card()
            with ctx.card_work():
                _fill_card(
                    card, cfg, val_metrics, result.metrics, checks, status, result.images, info
                )
                _importance_tab(card, ctx, pipeline)
                from mlrecipes.cards.render import render_html

                tracker.log_text(render_html(card), "evaluate/card.html")

        summary = {
            "metrics": {"validation": val_metrics, "test": result.metrics},
            "model_validation_status": status,
            "validation_results": [c.describe() for c in checks],
        }
        return StepResult(summary=summary, card=card)


_PLOTS = (
    ("roc_curve_plot", "ROC curve"),
    ("precision_recall_curve_plot", "Precision-recall curve"),
    ("confusion_matrix", "Confusion matrix"),
    ("calibration_curve_plot", "Calibration curve"),
    ("lift_curve_plot", "Lift curve"),
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

    from mlrecipes.steps.split_eval import ordered_metrics

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
    validation_tab = card.tab("Model Validation")
    validation_tab.text(f"Validation status: {status}")
    if checks:
        validation_tab.table(
            pd.DataFrame(
                [
                    {
                        "metric": c.metric,
                        "greater_is_better": c.greater_is_better,
                        "value": c.value,
                        "threshold": c.threshold,
                        "validated": "✅" if c.passed else "❌",
                    }
                    for c in checks
                ]
            ),
            title="Model Validation Results (Test Dataset)",
        )
    else:
        validation_tab.text("No validation_criteria in recipe.yaml: the status is UNKNOWN.")
    if cfg.is_classification:
        plots = card.tab("Model Performance Plots")
        shown = False
        for key, title in _PLOTS:
            if key in images:
                plots.image(images[key], title=f"{title} (test)")
                shown = True
        if not shown:
            plots.text("No plots were produced for this model (it has no predict_proba).")
    card.tab("Run Summary").kv(
        {
            "MLflow Run ID": info["run_id"],
            "MLflow Model URI": info["model_uri"],
            "Validation status": status,
        }
    )


def _importance_tab(card: Any, ctx: StepContext, pipeline: Any) -> None:
    """Permutation importance of the raw input columns on the validation split."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from mlrecipes.cards.plots import importance_bar_chart
    from mlrecipes.modeling import permutation_importance

    cfg = ctx.config
    validation = ctx.read_frame("split", "validation.parquet")
    X, y = validation.drop(columns=[cfg.target_col]), validation[cfg.target_col]
    has_proba = cfg.is_classification and hasattr(pipeline, "predict_proba")
    if cfg.task == "classification/binary" and has_proba:
        metric = "roc_auc"
    elif cfg.is_classification:
        metric = "accuracy_score"
    else:
        metric = "root_mean_squared_error"

    classes = list(pipeline.classes_) if cfg.is_classification else None

    def score(stacked: Any, target: Any, blocks: Any) -> list[float]:
        # One prediction call for all shuffled copies, then one cheap metric per block.
        if metric == "roc_auc":
            column = list(classes).index(cfg.positive_class)  # type: ignore[arg-type]
            predicted = pipeline.predict_proba(stacked)[:, column]
            truth = (target.to_numpy() == cfg.positive_class).astype(int)
        else:
            predicted = np.asarray(pipeline.predict(stacked))
            truth = target.to_numpy()
        values = []
        for block in np.unique(blocks):
            rows = blocks == block
            if metric == "roc_auc":
                values.append(roc_auc_score(truth[rows], predicted[rows]))
            elif metric == "accuracy_score":
                values.append(float(np.mean(truth[rows] == predicted[rows])))
            else:
                values.append(-float(np.sqrt(np.mean((truth[rows] - predicted[rows]) ** 2))))
        return values

    table = permutation_importance(score, X, y, n_repeats=3)
    tab = card.tab("Feature Importance")
    shown = "negative RMSE" if metric == "root_mean_squared_error" else metric
    tab.image(importance_bar_chart(table, shown), title=f"Permutation importance ({shown})")
    tab.table(table.round(5), title="Drop in the metric when each input column is shuffled")
