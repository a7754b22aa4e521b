"""ingest_scoring: copy the data to score into ``scoring-dataset.parquet`` (ingest's schema).

csv, parquet and delta sources are streamed batch by batch, so a table of any size is copied in
bounded memory; custom loaders (and sampled sources) are read whole, as ingest reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.config.blocks import IngestConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig

STREAM_BATCH_ROWS = 100_000


class IngestScoringStep(Step):
    name = "ingest_scoring"
    config_model = IngestConfig
    config_required = True
    outputs = (Output("dataset", "scoring-dataset.parquet", {"ingested_scoring_data": "frame"}),)
    user_code_modules = ("ingest",)
    pipeline = "scoring"

    def source_block(self, config: RecipeConfig) -> IngestConfig:
        return self.block(config)

    def run(self, ctx: StepContext) -> StepResult:
        """Scoring data has no target to check; its columns are checked against the model in
        predict."""
        from mlrecipes.cards.profiles import dataset_tabs

        cfg = self.block(ctx.config)
        if cfg.loader_method or cfg.sample_fraction is not None:
            from mlrecipes.io.datasets import dataset_write_errors, read_dataset

            df = read_dataset(cfg, ctx.root, self.name).reset_index(drop=True)
            with dataset_write_errors(df, self.name):
                ctx.write_frame("dataset", df)
            head, rows = df, len(df)
        else:
            head, rows = _stream_copy(cfg, ctx.root, ctx.output_path("dataset"), self.name)
        card = ctx.new_card()
        with ctx.card_work():
            name = "Data Profile" if len(head) == rows else "Data Profile (first 10,000 rows)"
            dataset_tabs(card, head, rows, cfg, profile_name=name)
        return StepResult(
            summary={
                "rows": rows,
                "columns": list(map(str, head.columns)),
                "location": cfg.location,
            },
            card=card,
        )


def _stream_copy(cfg: IngestConfig, root: Path, path: Path, block: str) -> tuple[Any, int]:
    """Copy the source into ``path`` batch by batch; the first 10,000 rows come back for the card."""
    import pyarrow.parquet as pq

    from mlrecipes.io.batches import copy_to_parquet, iter_source_batches, returnable_memory

    with returnable_memory():
        rows, _ = copy_to_parquet(
            iter_source_batches(cfg, root, block, STREAM_BATCH_ROWS),
            path,
            block,
            source=str(cfg.location),
        )
    head = next(pq.ParquetFile(path).iter_batches(batch_size=10_000)).to_pandas()
    return head, rows
