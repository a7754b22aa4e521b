"""train: fit the estimator (optionally tuned, rebalanced, calibrated) and log the recipe model.

One MLflow run per execution. The model logged (and later registered) is a pyfunc over the fitted
``Pipeline(transformer, estimator)`` that takes raw input rows.
"""

from __future__ import annotations

from typing import Any

from mlrecipes.config.schema import RecipeConfig
from mlrecipes.steps.base import Step, StepContext, StepResult, dump
from mlrecipes.steps.outputs import (
    METRICS_FILE,
    MODEL_INFO_FILE,
    SK_MODEL_DIR,
    model_pip_requirements,
)

REBALANCE_MIN_ROWS = 5000


class TrainStep(Step):
    name = "train"
    inputs = ("split", "transform")
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
        }

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        return ("train", "custom_metrics") if config.custom_metrics else ("train",)

    def run(self, ctx: StepContext) -> StepResult:
        import cloudpickle
        from sklearn.pipeline import Pipeline

        from mlrecipes.cards.render import render_html
        from mlrecipes.steps import train_support as ts
        from mlrecipes.tracking.models import save_sklearn_model
        from mlrecipes.user_code import ensure_importable, pickled_by_value

        cfg = ctx.config
        tcfg = cfg.steps.train
        assert tcfg is not None
        target = cfg.target_col
        train_raw = ctx.read_frame("split", "train.parquet")
        val_raw = ctx.read_frame("split", "validation.parquet")
        t_train = ctx.read_frame("transform", "transformed_training_data.parquet")
        t_val = ctx.read_frame("transform", "transformed_validation_data.parquet")
        transformer = ctx.memory.frames.get(("transform", "transformer"))
        if transformer is None:
            ensure_importable(ctx.root)
            transformer = cloudpickle.loads(
                ctx.input_path("transform", "transformer.pkl").read_bytes()
            )

        X, y = t_train.drop(columns=[target]), t_train[target]
        X_val, y_val = t_val.drop(columns=[target]), t_val[target]

        build = ts.estimator_builder(ctx.root, tcfg.estimator_method)
        hardcoded = dict(tcfg.estimator_params)

        class_weight = None
        rebalanced = False
        if (
            cfg.task == "classification/binary"
            and tcfg.rebalance_training_data
            and len(X) > REBALANCE_MIN_ROWS
        ):
            from mlrecipes.modeling import rebalance

            n_before = len(X)
            X, y, class_weight = rebalance(X, y, tcfg.resampling_minority_percentage)
            rebalanced = len(X) != n_before
            ctx.log(f"rebalanced training data: {n_before} -> {len(X)} rows")
        if not ts.transformer_outputs_frame(transformer, train_raw.drop(columns=[target])):
            # Inside the pipeline the estimator will see arrays: fit it on arrays too.
            X, X_val = X.to_numpy(), X_val.to_numpy()

        tracker = ctx.tracker()
        settings = tracker.settings
        run_name = ts.run_name(settings.run_name_prefix)
        with tracker.run(run_name=run_name, tags=tracker.base_tags(self.name)) as run_id:
            ctx.note_active_run(run_id)
            tuning_outcome = None
            params = hardcoded
            if tcfg.tuning_enabled:
                tuning_outcome = ts.tune(
                    ctx, tracker, build, X, y, X_val, y_val, hardcoded, class_weight
                )
                params = tuning_outcome.best_params
            estimator = ts.make_estimator(build, params, class_weight, tcfg.estimator_method)
            fitted = ts.fit_estimator(estimator, X, y, tcfg.calibrate_proba, tcfg.estimator_method)
            pipeline = Pipeline([("transformer", transformer), ("estimator", fitted)])

            model_params = ts.logged_params(estimator, params, class_weight, rebalanced, len(X))
            tracker.log_params(model_params)
            tracker.set_tags(
                {
                    "estimator_name": type(estimator).__name__,
                    "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
                }
            )

            feature_columns = [c for c in train_raw.columns if c != target]
            requirements = model_pip_requirements(pipeline)
            with pickled_by_value(ctx.root):  # the model must load without the recipe's code
                save_sklearn_model(pipeline, ctx.out_dir / SK_MODEL_DIR, requirements)
                model_uri, model_id = ts.log_recipe_model(
                    tracker, ctx, pipeline, feature_columns, train_raw, requirements
                )

            evaluation = ts.evaluate_train_and_validation(
                ctx, tracker, pipeline, train_raw, val_raw, model_id
            )
            ts.log_snapshot(tracker, ctx)
            best_parameters = ts.best_parameters_yaml(estimator, hardcoded, tuning_outcome)
            (ctx.out_dir / "best_parameters.yaml").write_text(best_parameters, encoding="utf-8")
            tracker.log_text(best_parameters, "train/best_parameters.yaml")

            predicted_train = ts.predicted_training_data(train_raw, evaluation.training)
            ctx.write_frame("predicted_training_data.parquet", predicted_train)
            with ctx.card_work():
                worst = ts.worst_predictions(
                    val_raw, target, cfg.positive_class, evaluation.validation
                )

            metrics = {
                "training": evaluation.training.metrics,
                "validation": evaluation.validation.metrics,
            }
            ctx.write_json(METRICS_FILE, metrics)
            info = {
                "run_id": run_id,
                "model_uri": model_uri,
                "model_id": model_id,
                "tracking_uri": settings.tracking_uri,
                "experiment_id": tracker.experiment_id,
                "feature_columns": feature_columns,
                "estimator_class": type(estimator).__name__,
            }
            ctx.write_json(MODEL_INFO_FILE, info)
            ctx.write_text("run_id", run_id)
            ctx.pending[(self.name, "pipeline")] = pipeline

            card = ctx.new_card()
            with ctx.card_work():
                ts.fill_card(
                    card,
                    ctx,
                    tracker,
                    pipeline,
                    metrics,
                    ts.card_images(ctx, evaluation.validation),
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
        }
        return StepResult(summary=summary, card=card)
