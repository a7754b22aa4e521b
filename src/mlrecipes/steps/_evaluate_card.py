"""evaluate's card: the test metrics, the validation verdict, the plots and the permutation
importance of the raw input columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.steps.base import StepContext

IMPORTANCE_PLOT = "permutation_importance"  # on the card only, not logged as a test plot


def skipped_metrics(card: Any, skipped: dict[str, str]) -> None:
    if not skipped:
        return
    import pandas as pd

    card.tab("Model Performance (Test)").table(
        pd.DataFrame({"metric": list(skipped), "why it was skipped": list(skipped.values())}),
        title="Metrics not computed",
    )


def plots(cfg: RecipeConfig, scores: Any, importance: Importance) -> dict[str, bytes]:
    """Diagnostic plots of the test split (logged to the run and shown on the card) and the
    permutation importance chart (on the card)."""
    from mlrecipes.cards.plots import classifier_plots, importance_bar_chart, regression_plots

    if not cfg.is_classification:
        plots = regression_plots(scores.y.to_numpy(), scores.y_pred)
    else:
        plots = classifier_plots(
            scores.y.to_numpy(), scores.y_pred, scores.proba, scores.classes, cfg.positive_class
        )
    plots[IMPORTANCE_PLOT] = importance_bar_chart(importance.table, importance.metric)
    return plots


_PLOTS = (
    ("roc_curve_plot", "ROC curve"),
    ("precision_recall_curve_plot", "Precision-recall curve"),
    ("confusion_matrix", "Confusion matrix"),
    ("calibration_curve_plot", "Calibration curve"),
    ("lift_curve_plot", "Lift curve"),
    ("predicted_vs_actual_plot", "Predicted vs actual"),
    ("residuals_plot", "Residuals"),
)


def fill_card(
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


@dataclass(frozen=True)
class Importance:
    table: pd.DataFrame  # feature, drop in the metric (mean, std), most important first
    metric: str  # as shown: roc_auc, accuracy_score or negative RMSE


def permutation_importance_of(ctx: StepContext, pipeline: Any) -> Importance:
    """Permutation importance of the raw input columns on the validation split."""
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
    shown = "negative RMSE" if metric == "root_mean_squared_error" else metric
    return Importance(table, shown)


def importance_tab(card: Any, importance: Importance, images: dict[str, bytes]) -> None:
    tab = card.tab("Feature Importance")
    shown = importance.metric
    tab.image(images[IMPORTANCE_PLOT], title=f"Permutation importance ({shown})")
    tab.table(
        importance.table.round(5), title="Drop in the metric when each input column is shuffled"
    )
