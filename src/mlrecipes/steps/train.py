"""train: fit the estimator (optionally tuned, rebalanced, calibrated) and log the recipe model.

One MLflow run per execution. The model logged (and later registered) is a pyfunc over the fitted
``Pipeline(transformer, estimator)`` that takes raw input rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictBool, field_validator

from mlrecipes.config.blocks import StepBlock
from mlrecipes.modeling.tuning import TuningConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.tracking.client import Tracker

REBALANCE_MIN_ROWS = 5000


class TrainConfig(StepBlock):
    using: Literal["custom"] = "custom"
    estimator_method: str
    estimator_params: dict[str, Any] = Field(default_factory=dict)
    tuning: TuningConfig | None = None
    rebalance_training_data: StrictBool = True
    resampling_minority_percentage: float = Field(default=0.3, gt=0, lt=0.5)
    calibrate_proba: Literal["sigmoid", "isotonic"] | None = None
    # binary classifiers: the P(positive) cut-off of predicted_label. A number, or "best_f1":
    # the cut-off maximising F1 on the validation split (new in mlrecipes; default: the
    # estimator's own predict)
    decision_threshold: float | Literal["best_f1"] | None = None
    predict_scores_for_all_classes: StrictBool = True
    predict_prefix: str = "predicted_"
    skip_data_profiling: StrictBool = False

    @field_validator("decision_threshold")
    @classmethod
    def _probability(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float | int) and not 0 < value < 1:
            raise ValueError(f"decision_threshold must be between 0 and 1, got {value}")
        return value

    @property
    def tuning_enabled(self) -> bool:
        return self.tuning is not None and self.tuning.enabled


class TrainStep(Step):
    name = "train"
    config_model = TrainConfig
    config_required = True
    inputs = ("split", "transform")
    outputs = (
        Output("model_info", "model_info.json", {"model": "model", "run": "run"}),
        Output("metrics", "metrics.json"),
        Output("sk_model", "sk_model"),
        Output("run_id", "run_id"),
        Output("best_parameters", "best_parameters.yaml", {"best_parameters": "text"}),
        Output(
            "predicted_training_data",
            "predicted_training_data.parquet",
            {"predicted_training_data": "frame"},
        ),
        Output("recipe_snapshot", "recipe_snapshot"),
        # hashes of the rows the model saw (train + validation): deploy proves a holdout clean
        Output("training_rows", "training_rows.npz", logged=True),
    )
    user_code_modules = ("train", "custom_metrics")
    uses_tracking = True

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.train),
            "target_col": config.target_col,
            "task": config.task,
            "positive_class": config.positive_class,
            "primary_metric": config.primary,
            "custom_metrics": [dump(m) for m in config.custom_metrics],
            "experiment": dump(config.experiment),
            "key_columns": _key_columns(config),
        }

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        return ("train", "custom_metrics") if config.custom_metrics else ("train",)

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.process.faults import fault_point
        from mlrecipes.process.forked import Background
        from mlrecipes.steps import _train_fit as train_fit
        from mlrecipes.steps import _train_log as train_log

        tcfg = ctx.config.steps.train
        assert tcfg is not None
        data = _training_data(ctx, tcfg)
        # Without tuning (its trials are MLflow runs) the model is fitted before MLflow loads,
        # and its training and validation scores are computed on the other core meanwhile
        # (MLflow's import and store are ~1.4 s of a 5 s cold run).
        early = None if tcfg.tuning_enabled else _fit(ctx, None, tcfg, data)
        scoring = None
        if early is not None:
            pipeline = early.pipeline
            scoring = Background(
                lambda: train_fit.train_and_validation_scores(
                    ctx, pipeline, data.train_raw, data.val_raw
                ),
                "the training and validation scores",
            )
        try:
            tracker = ctx.tracker()
            run_name = train_log.run_name(tracker.settings.run_name_prefix)
            with tracker.run(run_name=run_name, tags=tracker.base_tags(self.name)) as run_id:
                ctx.note_active_run(run_id)
                fitted = early if early is not None else _fit(ctx, tracker, tcfg, data)
                _log_fit(tracker, fitted, data)
                logged = _log_model(ctx, tracker, data, fitted)
                fault_point("train.model_logged")  # a run RUNNING, outputs half written
                evaluation = (
                    scoring.result()
                    if scoring is not None
                    else train_fit.train_and_validation_scores(
                        ctx, fitted.pipeline, data.train_raw, data.val_raw
                    )
                )
                train_fit.log_split_metrics(tracker, evaluation, logged.model_id)
                metrics, card = _record(ctx, tracker, data, fitted, logged, run_id, evaluation)
        finally:
            if scoring is not None:
                scoring.cancel()
        summary = {
            "run_id": run_id,
            "model_uri": logged.model_uri,
            "estimator": type(fitted.estimator).__name__,
            "metrics": metrics,
            "tuned": fitted.tuning is not None,
            "decision_threshold": fitted.threshold,
        }
        return StepResult(summary=summary, card=card)


@dataclass
class _TrainingData:
    """The split's rows as read, and what the estimator is fitted on (rebalanced, arrays when
    the transformer outputs arrays)."""

    train_raw: pd.DataFrame
    val_raw: pd.DataFrame
    transformer: Any
    X: Any
    y: Any
    X_val: Any
    y_val: Any
    target: str
    class_weight: Any = None
    rebalanced: bool = False

    @property
    def feature_columns(self) -> list[str]:
        return [c for c in self.train_raw.columns if c != self.target]


@dataclass
class _Fitted:
    estimator: Any
    params: dict[str, Any]
    hardcoded: dict[str, Any]
    pipeline: Any
    threshold: float | None
    tuning: Any


@dataclass
class _Logged:
    model_uri: str
    model_id: str
    feature_tags: dict[str, str]


def _training_data(ctx: StepContext, tcfg: TrainConfig) -> _TrainingData:
    import cloudpickle

    from mlrecipes.io.user_code import ensure_importable
    from mlrecipes.steps import _train_fit as train_fit

    cfg = ctx.config
    target = cfg.target_col
    train_raw = ctx.read_frame("split", "train")
    t_train = ctx.read_frame("transform", "transformed_training_data")
    t_val = ctx.read_frame("transform", "transformed_validation_data")
    transformer = ctx.memory.frames.get(("transform", "transformer"))
    if transformer is None:
        ensure_importable(ctx.root)
        transformer = cloudpickle.loads(ctx.input_path("transform", "transformer").read_bytes())
    data = _TrainingData(
        train_raw=train_raw,
        val_raw=ctx.read_frame("split", "validation"),
        transformer=transformer,
        X=t_train.drop(columns=[target]),
        y=t_train[target],
        X_val=t_val.drop(columns=[target]),
        y_val=t_val[target],
        target=target,
    )
    if (
        cfg.task == "classification/binary"
        and tcfg.rebalance_training_data
        and len(data.X) > REBALANCE_MIN_ROWS
    ):
        from mlrecipes.modeling.estimators import rebalance

        n_before = len(data.X)
        data.X, data.y, data.class_weight = rebalance(
            data.X, data.y, tcfg.resampling_minority_percentage
        )
        data.rebalanced = len(data.X) != n_before
        ctx.log(f"rebalanced training data: {n_before} -> {len(data.X)} rows")
    if not train_fit.transformer_outputs_frame(transformer, train_raw.drop(columns=[target])):
        # Inside the pipeline the estimator will see arrays: fit it on arrays too.
        data.X, data.X_val = data.X.to_numpy(), data.X_val.to_numpy()
    return data


def _fit(
    ctx: StepContext, tracker: Tracker | None, tcfg: TrainConfig, data: _TrainingData
) -> _Fitted:
    """The estimator (tuned when configured: ``tracker`` records the trials), calibrated, with
    its decision threshold, in the pipeline behind the transformer."""
    from sklearn.pipeline import Pipeline

    from mlrecipes.steps import _train_fit as train_fit

    build = train_fit.estimator_builder(ctx.root, tcfg.estimator_method)
    hardcoded = dict(tcfg.estimator_params)
    train_fit.check_probability_metrics(
        ctx.config,
        train_fit.make_estimator(build, hardcoded, data.class_weight, tcfg.estimator_method),
        tcfg.calibrate_proba is not None,
        tcfg.estimator_method,
    )
    tuning, params = None, hardcoded
    if tcfg.tuning_enabled:
        assert tracker is not None
        tuning = train_fit.tune(
            ctx, tracker, build, data.X, data.y, data.X_val, data.y_val, hardcoded,
            data.class_weight,
        )  # fmt: skip
        params = tuning.best_params
    estimator = train_fit.make_estimator(build, params, data.class_weight, tcfg.estimator_method)
    fitted = train_fit.fit_estimator(
        estimator, data.X, data.y, tcfg.calibrate_proba, tcfg.estimator_method
    )
    fitted, threshold = train_fit.apply_decision_threshold(
        ctx.config, tcfg, fitted, data.X, data.y, data.X_val, data.y_val
    )
    pipeline = Pipeline([("transformer", data.transformer), ("estimator", fitted)])
    return _Fitted(estimator, params, hardcoded, pipeline, threshold, tuning)


def _log_fit(tracker: Tracker, fitted: _Fitted, data: _TrainingData) -> None:
    """The estimator's parameters and class, on the run."""
    from mlrecipes.steps import _train_log as train_log

    estimator = fitted.estimator
    tracker.log_params(
        train_log.logged_params(
            estimator, fitted.params, data.class_weight, data.rebalanced, len(data.X)
        )
    )
    tracker.set_tags(
        {
            "estimator_name": type(estimator).__name__,
            "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        }
    )


def _log_model(ctx: StepContext, tracker: Tracker, data: _TrainingData, fitted: _Fitted) -> _Logged:
    """The pipeline saved as an sklearn model (evaluate reads it) and logged as the recipe's
    pyfunc model, with its feature-table lineage."""
    from mlrecipes.io.user_code import pickled_by_value
    from mlrecipes.steps import _train_log as train_log
    from mlrecipes.tracking.models import save_sklearn_model
    from mlrecipes.tracking.requirements import model_pip_requirements

    requirements = model_pip_requirements(fitted.pipeline)
    spec_path = ctx.input_path("ingest", "feature_spec")
    spec_path = spec_path if spec_path.is_file() else None
    feature_tags = train_log.feature_table_tags(spec_path)
    tracker.set_tags(feature_tags)
    with pickled_by_value(ctx.root):  # the model must load without the recipe's code
        save_sklearn_model(fitted.pipeline, ctx.output_path("sk_model"), requirements)
        model_uri, model_id = train_log.log_recipe_model(
            tracker, ctx, fitted.pipeline, data.feature_columns, data.train_raw, requirements,
            fitted.threshold, spec_path,
        )  # fmt: skip
    return _Logged(model_uri, model_id, feature_tags)


def _record(
    ctx: StepContext,
    tracker: Tracker,
    data: _TrainingData,
    fitted: _Fitted,
    logged: _Logged,
    run_id: str,
    evaluation: Any,
) -> tuple[dict[str, Any], Any]:
    """The snapshot, the training rows, the outputs and the card; returns (metrics, card)."""
    from mlrecipes.steps import _train_log as train_log

    cfg = ctx.config
    train_log.log_snapshot(tracker, ctx)
    train_log.record_training_rows(
        ctx, tracker, [data.train_raw, data.val_raw], data.feature_columns, _key_columns(cfg)
    )
    metrics = {"training": evaluation.training.metrics, "validation": evaluation.validation.metrics}
    ctx.write_json("metrics", metrics)
    info = {
        "run_id": run_id,
        "model_uri": logged.model_uri,
        "model_id": logged.model_id,
        "tracking_uri": tracker.settings.tracking_uri,
        "experiment_id": tracker.experiment_id,
        "feature_columns": data.feature_columns,
        "estimator_class": type(fitted.estimator).__name__,
        "decision_threshold": fitted.threshold,
        "feature_tables": logged.feature_tags,  # lineage tags, copied to the model version
        # the content hash of what the model was trained from (config, code, data):
        # equal for a retrain of the same inputs, e.g. after `clean`
        "content_key": ctx.cache_key,
    }
    ctx.write_json("model_info", info)
    ctx.write_text("run_id", run_id)
    ctx.pending[("train", "pipeline")] = fitted.pipeline
    return metrics, _card(ctx, tracker, data, fitted, evaluation, metrics, info)


def _card(
    ctx: StepContext,
    tracker: Tracker,
    data: _TrainingData,
    fitted: _Fitted,
    evaluation: Any,
    metrics: dict[str, Any],
    info: dict[str, Any],
) -> Any:
    """The best parameters and predicted training data (outputs), and the step card."""
    from mlrecipes.cards.render import render_html
    from mlrecipes.steps import _train_card as train_card

    cfg = ctx.config
    best_parameters = train_card.best_parameters_yaml(
        fitted.estimator, fitted.hardcoded, fitted.tuning
    )
    ctx.write_text("best_parameters", best_parameters)
    tracker.log_text(best_parameters, "train/best_parameters.yaml")
    predicted_train = train_card.predicted_training_data(
        data.train_raw, evaluation.training, cfg.positive_class
    )
    ctx.write_frame("predicted_training_data", predicted_train)
    card = ctx.new_card()
    with ctx.card_work():
        worst = train_card.worst_predictions(
            data.val_raw, data.target, cfg.positive_class, evaluation.validation
        )
        images = train_card.card_images(ctx, fitted.pipeline, data.val_raw, evaluation.validation)
        train_card.fill_card(
            card, ctx, tracker, fitted.pipeline, metrics, images, worst, fitted.tuning,
            best_parameters, info,
        )  # fmt: skip
        tracker.log_text(render_html(card), "train/card.html")
    return card


def _key_columns(config: RecipeConfig) -> list[str]:
    """The key columns deploy checks holdouts by (none: whole rows)."""
    deploy = getattr(config.steps, "deploy", None)
    return list(deploy.key_columns) if deploy is not None else []
