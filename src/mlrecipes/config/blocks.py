"""The pydantic bases of every configuration block.

Each step declares its own block model (in its module, on ``Step.config_model``); the data
source blocks that ingest, ingest_scoring and the readers share live with the readers
(io/sources.py). The ``steps`` section of the schema is assembled from the step declarations
by the steps package, so config imports nothing above it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PositiveFloat


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepBlock(Block):
    """Keys every step block has (new in mlrecipes)."""

    # Seconds the step may run before it is ended as a failure; none by default (MLflow Recipes
    # had no limit), the churn template sets one per step.
    timeout: PositiveFloat | None = None
