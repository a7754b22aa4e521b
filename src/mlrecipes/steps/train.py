"""train: fit the estimator (optionally tuned, rebalanced, calibrated) and log the recipe model.

One MLflow run per execution. The model logged (and later registered) is a pyfunc over the fitted
``Pipeline(transformer, estimator)`` that takes raw input rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictBool, field_validator

from mlrecipes.config.blocks import StepBlock
from mlrecipes.modeling.tuning import TuningConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig

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
        import cloudpickle
        from sklearn.pipeline import Pipeline

        from mlrecipes.cards.render import render_html
        from mlrecipes.io.user_code import ensure_importable, pickled_by_value
        from mlrecipes.steps import _train_card as train_card
        from mlrecipes.steps import _train_fit as train_fit
        from mlrecipes.steps import _train_log as train_log
        from mlrecipes.tracking.models import save_sklearn_model
        from mlrecipes.tracking.requirements import model_pip_requirements

        cfg = ctx.config
        tcfg = cfg.steps.train
        assert tcfg is not None
        target = cfg.target_col
        train_raw = ctx.read_frame("split", "train")
        val_raw = ctx.read_frame("split", "validation")
        t_train = ctx.read_frame("transform", "transformed_training_data")
        t_val = ctx.read_frame("transform", "transformed_validation_data")
        transformer = ctx.memory.frames.get(("transform", "transformer"))
        if transformer is None:
            ensure_importable(ctx.root)
            transformer = cloudpickle.loads(ctx.input_path("transform", "transformer").read_bytes())

        X, y = t_train.drop(columns=[target]), t_train[target]
        X_val, y_val = t_val.drop(columns=[target]), t_val[target]

        build = train_fit.estimator_builder(ctx.root, tcfg.estimator_method)
        hardcoded = dict(tcfg.estimator_params)

        class_weight = None
        rebalanced = False
        if (
            cfg.task == "classification/binary"
            and tcfg.rebalance_training_data
            and len(X) > REBALANCE_MIN_ROWS
        ):
            from mlrecipes.modeling.estimators import rebalance

            n_before = len(X)
            X, y, class_weight = rebalance(X, y, tcfg.resampling_minority_percentage)
            rebalanced = len(X) != n_before
            ctx.log(f"rebalanced training data: {n_before} -> {len(X)} rows")
        if not train_fit.transformer_outputs_frame(transformer, train_raw.drop(columns=[target])):
            # Inside the pipeline the estimator will see arrays: fit it on arrays too.
            X, X_val = X.to_numpy(), X_val.to_numpy()

        train_fit.check_probability_metrics(
            cfg,
            train_fit.make_estimator(build, hardcoded, class_weight, tcfg.estimator_method),
            tcfg.calibrate_proba is not None,
            tcfg.estimator_method,
        )
        tracker = ctx.tracker()
        settings = tracker.settings
        run_name = train_log.run_name(settings.run_name_prefix)
        with tracker.run(run_name=run_name, tags=tracker.base_tags(self.name)) as run_id:
            ctx.note_active_run(run_id)
            tuning_outcome = None
            params = hardcoded
            if tcfg.tuning_enabled:
                tuning_outcome = train_fit.tune(
                    ctx, tracker, build, X, y, X_val, y_val, hardcoded, class_weight
                )
                params = tuning_outcome.best_params
            estimator = train_fit.make_estimator(build, params, class_weight, tcfg.estimator_method)
            fitted = train_fit.fit_estimator(
                estimator, X, y, tcfg.calibrate_proba, tcfg.estimator_method
            )
            fitted, threshold = train_fit.apply_decision_threshold(
                cfg, tcfg, fitted, X, y, X_val, y_val
            )
            pipeline = Pipeline([("transformer", transformer), ("estimator", fitted)])

            model_params = train_log.logged_params(
                estimator, params, class_weight, rebalanced, len(X)
            )
            tracker.log_params(model_params)
            tracker.set_tags(
                {
                    "estimator_name": type(estimator).__name__,
                    "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
                }
            )

            feature_columns = [c for c in train_raw.columns if c != target]
            requirements = model_pip_requirements(pipeline)
            spec_path = ctx.input_path("ingest", "feature_spec")
            spec_path = spec_path if spec_path.is_file() else None
            feature_tags = train_log.feature_table_tags(spec_path)
            tracker.set_tags(feature_tags)
            with pickled_by_value(ctx.root):  # the model must load without the recipe's code
                save_sklearn_model(pipeline, ctx.output_path("sk_model"), requirements)
                model_uri, model_id = train_log.log_recipe_model(
                    tracker, ctx, pipeline, feature_columns, train_raw, requirements, threshold,
                    spec_path,
                )  # fmt: skip

            evaluation = train_fit.evaluate_train_and_validation(
                ctx, tracker, pipeline, train_raw, val_raw, model_id
            )
            train_log.log_snapshot(tracker, ctx)
            train_log.record_training_rows(
                ctx, tracker, [train_raw, val_raw], feature_columns, _key_columns(cfg)
            )
            best_parameters = train_card.best_parameters_yaml(estimator, hardcoded, tuning_outcome)
            ctx.write_text("best_parameters", best_parameters)
            tracker.log_text(best_parameters, "train/best_parameters.yaml")

            predicted_train = train_card.predicted_training_data(
                train_raw, evaluation.training, cfg.positive_class
            )
            ctx.write_frame("predicted_training_data", predicted_train)
            with ctx.card_work():
                worst = train_card.worst_predictions(
                    val_raw, target, cfg.positive_class, evaluation.validation
                )

            metrics = {
                "training": evaluation.training.metrics,
                "validation": evaluation.validation.metrics,
            }
            ctx.write_json("metrics", metrics)
            info = {
                "run_id": run_id,
                "model_uri": model_uri,
                "model_id": model_id,
                "tracking_uri": settings.tracking_uri,
                "experiment_id": tracker.experiment_id,
                "feature_columns": feature_columns,
                "estimator_class": type(estimator).__name__,
                "decision_threshold": threshold,
                "feature_tables": feature_tags,  # lineage tags, copied to the model version
                # the content hash of what the model was trained from (config, code, data):
                # equal for a retrain of the same inputs, e.g. after `clean`
                "content_key": ctx.cache_key,
            }
            ctx.write_json("model_info", info)
            ctx.write_text("run_id", run_id)
            ctx.pending[(self.name, "pipeline")] = pipeline

            card = ctx.new_card()
            with ctx.card_work():
                train_card.fill_card(
                    card,
                    ctx,
                    tracker,
                    pipeline,
                    metrics,
                    train_card.card_images(ctx, pipeline, val_raw, evaluation.validation),
                    worst,
                    tuning_outcome,
                    best_parameters,
                    info,
                )
                card_html = render_html(card)
                tracker.log_text(card_html, "train/card.html")

        summary = {
            "run_id": run_id,
            "model_uri": model_uri,
            "estimator": type(estimator).__name__,
            "metrics": metrics,
            "tuned": tuning_outcome is not None,
            "decision_threshold": threshold,
        }
        return StepResult(summary=summary, card=card)


def _key_columns(config: RecipeConfig) -> list[str]:
    """The key columns deploy checks holdouts by (none: whole rows)."""
    deploy = getattr(config.steps, "deploy", None)
    return list(deploy.key_columns) if deploy is not None else []
