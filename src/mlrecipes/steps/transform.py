"""transform: fit the user's transformer on the training split only, transform train and validation."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import StrictBool

from mlrecipes.config.blocks import StepBlock
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig


class TransformConfig(StepBlock):
    using: Literal["custom"] = "custom"
    transformer_method: str | None = None
    skip_data_profiling: StrictBool = False


class TransformStep(Step):
    name = "transform"
    config_model = TransformConfig
    inputs = ("split",)
    outputs = (
        Output("transformer", "transformer.pkl", {"transformer": "pickle"}),
        Output(
            "transformed_training_data",
            "transformed_training_data.parquet",
            {"transformed_training_data": "frame"},
        ),
        Output(
            "transformed_validation_data",
            "transformed_validation_data.parquet",
            {"transformed_validation_data": "frame"},
        ),
    )
    user_code_modules = ("transform",)

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {"block": dump(config.steps.transform), "target_col": config.target_col}

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        return ("transform",) if config.steps.transform.transformer_method else ()

    def run(self, ctx: StepContext) -> StepResult:
        import cloudpickle
        import pandas as pd

        from mlrecipes.cards.estimators import estimator_html
        from mlrecipes.cards.profiles import data_profile_tab, schema_tab
        from mlrecipes.io.user_code import call_user_function
        from mlrecipes.modeling.estimators import transformed_frame

        cfg = ctx.config.steps.transform
        target = ctx.config.target_col
        train = ctx.read_frame("split", "train")
        validation = ctx.read_frame("split", "validation")
        X_train, y_train = train.drop(columns=[target]), train[target]
        X_val, y_val = validation.drop(columns=[target]), validation[target]

        transformer, where = _unfitted_transformer(ctx.root, cfg.transformer_method)
        call_user_function(transformer.fit, f"{where} .fit()", X_train, y_train)
        t_train = call_user_function(
            transformed_frame, f"{where} .transform()", transformer, X_train
        )
        t_val = call_user_function(transformed_frame, f"{where} .transform()", transformer, X_val)
        t_train[target] = y_train.to_numpy()
        t_val[target] = y_val.to_numpy()

        from mlrecipes.io.user_code import pickled_by_value

        with pickled_by_value(ctx.root):
            ctx.output_path("transformer").write_bytes(cloudpickle.dumps(transformer))
        ctx.pending[(self.name, "transformer")] = transformer
        ctx.write_frame("transformed_training_data", t_train)
        ctx.write_frame("transformed_validation_data", t_val)

        card = ctx.new_card()
        with ctx.card_work():
            if not cfg.skip_data_profiling:
                card.tabs.append(data_profile_tab(t_train, name="Data Profile (Train Transformed)"))
            card.tab("Transformer").html(
                estimator_html(transformer), title=type(transformer).__name__
            )
            card.tabs.append(schema_tab(X_train, name="Input Schema"))
            card.tabs.append(schema_tab(t_train.drop(columns=[target]), name="Output Schema"))
            card.tab("Data Preview").rows(pd.DataFrame(t_train.head(10)))
            card.tab("Run Summary").kv(
                {
                    "Transformer": type(transformer).__name__,
                    "Input columns": X_train.shape[1],
                    "Output columns": t_train.shape[1] - 1,
                    "Training rows": len(t_train),
                }
            )
        summary = {"input_columns": X_train.shape[1], "output_columns": t_train.shape[1] - 1}
        return StepResult(summary=summary, card=card)


def _unfitted_transformer(root: Path, method: str | None) -> tuple[Any, str]:
    """The user's transformer (a fresh clone when scikit-learn can clone it), or the identity;
    with where it came from, for error messages."""
    from sklearn.base import clone

    from mlrecipes.io.user_code import call_user_function, load_function
    from mlrecipes.modeling.estimators import check_transformer, identity_transformer

    transformer = None
    where = "identity transformer"
    if method:
        where = f"steps/transform.py:{method}"
        transformer = call_user_function(load_function(root, "transform", method), where)
    if transformer is None:
        transformer = identity_transformer()
    check_transformer(transformer, where)
    # Non-sklearn transformers cannot be cloned; they are used as given.
    with contextlib.suppress(TypeError, RuntimeError, AttributeError):
        transformer = clone(transformer)
    return transformer, where
