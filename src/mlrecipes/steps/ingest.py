"""ingest: read the training data into ``dataset.parquet`` (csv, parquet, delta, custom loader).

The ingested index is kept in the file (as MLflow Recipes kept it): the split hashes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrecipes.config.blocks import IngestConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig


class IngestStep(Step):
    name = "ingest"
    config_model = IngestConfig
    config_required = True
    outputs = (Output("dataset", "dataset.parquet", {"ingested_data": "frame"}),)
    user_code_modules = ("ingest",)

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.ingest),
            "target_col": config.target_col,
            "task": config.task,
            "positive_class": config.positive_class,
        }

    def source_block(self, config: RecipeConfig) -> IngestConfig:
        return self.block(config)

    def run(self, ctx: StepContext) -> StepResult:
        from mlrecipes.cards.profiles import dataset_tabs
        from mlrecipes.data_checks import check_numeric_columns, check_target
        from mlrecipes.io.datasets import dataset_write_errors, read_dataset

        cfg = self.block(ctx.config)
        config = ctx.config
        df = read_dataset(cfg, ctx.root, self.name)
        check_target(df, config.target_col, config.task, config.positive_class, "steps.ingest")
        check_numeric_columns(df, "steps.ingest", skip=(config.target_col,))
        with dataset_write_errors(df, self.name):
            ctx.write_frame("dataset", df, keep_index=True)

        card = ctx.new_card()
        with ctx.card_work():
            dataset_tabs(card, df, len(df), cfg)
        return StepResult(
            summary={
                "rows": len(df),
                "columns": list(map(str, df.columns)),
                "location": cfg.location,
            },
            card=card,
        )
