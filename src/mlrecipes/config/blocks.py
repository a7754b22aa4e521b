"""The pydantic bases of every configuration block, and the data source block that ingest,
ingest_scoring and the io/ readers share.

Each step declares its own block model (in its module, on ``Step.config_model``); the ``steps``
section of the schema is assembled from those declarations (config/schema.py).
"""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    StrictBool,
    model_validator,
)

from mlrecipes.io.formats import NATIVE_FORMATS


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepBlock(Block):
    """Keys every step block has (new in mlrecipes)."""

    # Seconds the step may run before it is ended as a failure; none by default (MLflow Recipes
    # had no limit), the churn template sets one per step.
    timeout: PositiveFloat | None = None


class IngestConfig(StepBlock):
    """Where a step reads a dataset from (ingest, ingest_scoring)."""

    using: str = Field(description="csv, parquet, delta, or a custom format with loader_method")
    location: str | list[str] | None = None
    loader_method: str | None = None
    sql: str | None = None
    version: int | None = None
    timestamp: str | None = None
    sample_fraction: float | None = Field(default=None, gt=0, le=1)
    sample_seed: int = 42
    skip_data_profiling: StrictBool = False

    @model_validator(mode="after")
    def _check_source(self) -> IngestConfig:
        if self.using == "spark_sql":
            raise ValueError(
                "using: spark_sql is not supported by this version of mlrecipes; "
                "export the table to parquet or delta and ingest that"
            )
        if self.location is None or self.location == []:
            raise ValueError(f"location is required for using: {self.using}")
        if self.using not in NATIVE_FORMATS and not self.loader_method:
            raise ValueError(
                f"using: {self.using} is a custom format and needs loader_method "
                f"(a function in steps/ingest.py); native formats are {', '.join(NATIVE_FORMATS)}"
            )
        if (self.version is not None or self.timestamp is not None) and self.using != "delta":
            raise ValueError("version and timestamp apply only to using: delta")
        return self

    @property
    def locations(self) -> list[str]:
        if isinstance(self.location, str):
            return [self.location]
        return list(self.location or [])
