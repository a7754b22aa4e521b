"""Data source blocks: where ingest, ingest_scoring, features and the spine read from.

They live with the readers (io/formats.py knows the native formats they check against).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, PositiveInt, StrictBool, model_validator

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.io.formats import FORMATS

FEATURE_STORE = "feature_store"


class SparkConfig(Block):
    """Where the Spark engine runs: ``local[*]`` by default, a cluster master, or Spark Connect."""

    master: str | None = None
    remote: str | None = None
    conf: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_target(self) -> SparkConfig:
        if self.master and self.remote:
            raise ValueError(
                "give either master (classic Spark) or remote (Spark Connect), not both"
            )
        return self


class SpineConfig(Block):
    """The rows a training set (or a scoring batch) is built for: a feature-store table (the
    labels table) or a dataset with keys, timestamps and, for training, the target."""

    table: str | None = None
    using: str | None = None
    location: str | list[str] | None = None
    version: int | None = None
    # only the rows of the N newest snapshots (by the spine table's timestamp key, or a
    # dataset's ``timestamp_column``): a training window that follows a changed world
    latest_snapshots: PositiveInt | None = None
    timestamp_column: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SpineConfig:
        if (self.table is None) == (self.location is None):
            raise ValueError(
                "give either table (a feature-store table) or using + location (a dataset)"
            )
        if self.location is not None and self.using not in FORMATS:
            raise ValueError(f"spine.using: expected one of {', '.join(FORMATS)}")
        return self

    def as_source(self) -> IngestConfig:
        return IngestConfig(using=self.using or "csv", location=self.location)


class LookupConfig(Block):
    """One ``FeatureLookup`` (Databricks' names): ``lookup_key`` and ``timestamp_lookup_key``
    are spine columns, matched with the table's primary keys and timestamp key."""

    table: str
    lookup_key: str | list[str]
    timestamp_lookup_key: str | None = None
    feature_names: list[str] | None = None
    rename_outputs: dict[str, str] = Field(default_factory=dict)


class IngestConfig(StepBlock):
    """Where a step reads a dataset from (ingest, ingest_scoring)."""

    using: str = Field(
        description="csv, parquet, delta, feature_store, or a custom format with loader_method"
    )
    location: str | list[str] | None = None
    loader_method: str | None = None
    sql: str | None = None
    version: int | None = None
    timestamp: str | None = None
    sample_fraction: float | None = Field(default=None, gt=0, le=1)
    sample_seed: int = 42
    skip_data_profiling: StrictBool = False
    # new in mlrecipes: columns that must hold numbers (text that reads as numbers is fine);
    # a column delivered as words is refused at ingest, naming it, instead of one-hot encoded
    numeric_columns: list[str] = Field(default_factory=list)
    # using: feature_store (new in mlrecipes): a spine and point-in-time lookups
    spine: SpineConfig | None = None
    feature_lookups: list[LookupConfig] | None = None
    exclude_columns: list[str] = Field(default_factory=list)
    on_missing: Literal["null", "error"] = "null"
    as_of: datetime | None = None  # scoring: the lookup time when the keys carry none
    # the point-in-time join on Spark (the feature tables never come to the driver)
    engine: Literal["pandas", "spark"] = "pandas"
    spark: SparkConfig = Field(default_factory=SparkConfig)

    @model_validator(mode="after")
    def _check_source(self) -> IngestConfig:
        if self.using == FEATURE_STORE:
            if self.spine is None:
                raise ValueError("using: feature_store needs spine (a table or a dataset of keys)")
            if self.location is not None:
                raise ValueError("using: feature_store reads its spine, not location")
            return self
        if self.feature_lookups is not None or self.spine is not None:
            raise ValueError("spine and feature_lookups apply only to using: feature_store")
        if self.using == "spark_sql":
            raise ValueError(
                "using: spark_sql is not supported by this version of mlrecipes; "
                "export the table to parquet or delta and ingest that"
            )
        if self.location is None or self.location == []:
            raise ValueError(f"location is required for using: {self.using}")
        if self.using not in FORMATS and not self.loader_method:
            raise ValueError(
                f"using: {self.using} is a custom format and needs loader_method "
                f"(a function in steps/ingest.py); native formats are {', '.join(FORMATS)}"
            )
        if (self.version is not None or self.timestamp is not None) and self.using != "delta":
            raise ValueError("version and timestamp apply only to using: delta")
        return self

    @property
    def locations(self) -> list[str]:
        if isinstance(self.location, str):
            return [self.location]
        return list(self.location or [])
