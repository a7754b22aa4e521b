"""ingest_scoring: copy the data to score into ``scoring-dataset.parquet`` (ingest's schema).

csv, parquet and delta sources are streamed batch by batch, so a table of any size is copied in
bounded memory; custom loaders return one DataFrame per file.
"""

from __future__ import annotations

from typing import Any

from mlrecipes.config.schema import RecipeConfig
from mlrecipes.steps.base import StepContext, StepResult, dump
from mlrecipes.steps.ingest import IngestStep
from mlrecipes.steps.outputs import SCORING_DATASET

STREAM_BATCH_ROWS = 100_000


class IngestScoringStep(IngestStep):
    name = "ingest_scoring"
    block = "ingest_scoring"
    output = SCORING_DATASET

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {"block": dump(config.steps.ingest_scoring)}

    def check(self, df: Any, config: RecipeConfig) -> None:
        """Scoring data has no target to check; columns are checked against the model in predict."""

    def run(self, ctx: StepContext) -> StepResult:
        cfg = self.block_config(ctx.config)
        if cfg.loader_method or cfg.sample_fraction is not None:
            return super().run(ctx)
        from mlrecipes.io.batches import copy_to_parquet, iter_source_batches, returnable_memory

        path = ctx.out_dir / self.output
        with returnable_memory():
            rows, schema = copy_to_parquet(
                iter_source_batches(cfg, ctx.root, self.block, STREAM_BATCH_ROWS),
                path,
                self.block,
                source=str(cfg.location),
            )
        import pyarrow.parquet as pq

        card = ctx.new_card()
        with ctx.card_work():
            head = next(pq.ParquetFile(path).iter_batches(batch_size=10_000)).to_pandas()
            _scoring_card(card, cfg, head, rows)
        return StepResult(summary={"rows": rows, "columns": schema.names}, card=card)


def _scoring_card(card: Any, cfg: Any, head: Any, rows: int) -> None:
    from mlrecipes.cards.profiles import data_profile_tab, preview_tab, schema_tab

    if not cfg.skip_data_profiling:
        card.tabs.append(data_profile_tab(head, name="Data Profile (first 10,000 rows)"))
    card.tabs.append(schema_tab(head))
    card.tabs.append(preview_tab(head))
    card.tab("Run Summary").kv(
        {
            "Number of rows ingested": rows,
            "Dataset source location": cfg.location,
            "Format": cfg.using,
        }
    )
