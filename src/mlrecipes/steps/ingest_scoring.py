"""ingest_scoring: read the data to score into ``scoring-dataset.parquet`` (ingest's schema)."""

from __future__ import annotations

from typing import Any

from mlrecipes.config.schema import RecipeConfig
from mlrecipes.steps.base import dump
from mlrecipes.steps.ingest import IngestStep

SCORING_DATASET = "scoring-dataset.parquet"


class IngestScoringStep(IngestStep):
    name = "ingest_scoring"
    block = "ingest_scoring"
    output = SCORING_DATASET

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {"block": dump(config.steps.ingest_scoring)}

    def check(self, df: Any, config: RecipeConfig) -> None:
        """Scoring data has no target to check; columns are checked against the model in predict."""
