"""ingest: read the training data into ``dataset.parquet`` (csv, parquet, delta, custom loader).

The ingested index is kept in the file (as MLflow Recipes kept it): the split hashes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrecipes.io.sources import FEATURE_STORE, IngestConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig


class IngestStep(Step):
    name = "ingest"
    config_model = IngestConfig
    config_required = True
    outputs = (
        Output("dataset", "dataset.parquet", {"ingested_data": "frame"}),
        # using: feature_store only: the tables, versions, keys and features read (lineage)
        Output("feature_spec", "feature_spec.json", {"feature_spec": "text"}),
    )
    user_code_modules = ("ingest",)
    after_if_configured = ("features",)  # it writes the tables a feature_store ingest reads

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.ingest),
            "target_col": config.target_col,
            "task": config.task,
            "positive_class": config.positive_class,
        }

    def source_block(self, config: RecipeConfig) -> IngestConfig:
        return self.block(config)

    def source_fingerprint(self, recipe: Any, previous: dict[str, Any] | None) -> Any:
        cfg = self.block(recipe.config)
        if cfg.using != FEATURE_STORE:
            return super().source_fingerprint(recipe, previous)
        from mlrecipes.features.recipe_store import fingerprint

        return fingerprint(cfg, recipe, self.name)

    def watched_paths(self, recipe: Any) -> list[Any]:
        cfg = self.block(recipe.config)
        if cfg.using != FEATURE_STORE:
            return super().watched_paths(recipe)
        from mlrecipes.features.recipe_store import watched_paths

        return watched_paths(cfg, recipe, self.name)

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.cards.profiles import dataset_tabs
        from mlrecipes.io.datasets import dataset_write_errors, read_dataset
        from mlrecipes.modeling.data_checks import (
            check_declared_numeric,
            check_numeric_columns,
            check_target,
        )

        cfg = self.block(ctx.config)
        config = ctx.config
        lineage: dict[str, Any] = {}
        if cfg.using == FEATURE_STORE:
            from mlrecipes.features.recipe_store import training_set

            training = training_set(cfg, ctx.recipe, self.name)
            df = training.frame
            ctx.write_text("feature_spec", training.feature_spec.to_json())
            lineage = {
                "lineage": training.feature_spec.lineage(),
                "missing_lookups": training.missing,
            }
            for table, count in training.missing.items():
                if count:
                    ctx.log(
                        f"{count} spine rows found no snapshot in '{table}': their features are null"
                    )
        else:
            df = read_dataset(cfg, ctx.root, self.name, ctx.download)
        check_target(df, config.target_col, config.task, config.positive_class, "steps.ingest")
        check_numeric_columns(df, "steps.ingest", skip=(config.target_col,))  # a stray few
        check_declared_numeric(df, cfg.numeric_columns, "steps.ingest")
        with dataset_write_errors(df, self.name):
            ctx.write_frame("dataset", df, keep_index=True)

        card = ctx.new_card()
        with ctx.card_work():
            dataset_tabs(card, df, len(df), cfg)
            if lineage:
                _lineage_tab(card, lineage)
        return StepResult(
            summary={
                "rows": len(df),
                "columns": list(map(str, df.columns)),
                "location": cfg.location,
                **lineage,
            },
            card=card,
        )


def _lineage_tab(card: Any, lineage: dict[str, Any]) -> None:
    import pandas as pd

    rows = [
        {
            "table": item["table"],
            "Delta version": item["version"],
            "location": item["location"],
            "features": ", ".join(item["features"]),
            "spine rows without a snapshot": lineage["missing_lookups"].get(item["table"], 0),
        }
        for item in lineage["lineage"]
    ]
    tab = card.tab("Feature Lookups")
    tab.text(
        "Point-in-time lookups: each spine row got the latest snapshot at or before its time. "
        "Rows without one have null features (steps.ingest.on_missing: error refuses them)."
    )
    tab.table(pd.DataFrame(rows))
