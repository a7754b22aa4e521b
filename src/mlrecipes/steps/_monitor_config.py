"""monitor's configuration block (thresholds, trigger, the monitoring table) and where it reads the scores from (predict's declared output only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, PositiveInt, StrictBool, model_validator

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.errors import DatasetError
from mlrecipes.io.sources import IngestConfig, SparkConfig

if TYPE_CHECKING:
    pass


MIN_LABELLED_ROWS = 30


class Levels(Block):
    warn: float = Field(ge=0)
    alert: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if self.alert < self.warn:
            raise ValueError(f"alert ({self.alert}) must be at least warn ({self.warn})")
        return self

    def pair(self) -> tuple[float, float]:
        return (self.warn, self.alert)


class ThresholdsConfig(Block):
    drift: Levels = Levels(warn=0.1, alert=0.25)
    unseen_share: Levels = Levels(warn=0.05, alert=0.1)
    null_rate_change: Levels = Levels(warn=0.05, alert=0.1)
    prediction_drift: Levels = Levels(warn=0.1, alert=0.25)
    performance_drop: Levels = Levels(warn=0.03, alert=0.05)
    # regression: measured errors larger than the holdout's by this share (0.2: 20% larger)
    error_increase: Levels = Levels(warn=0.1, alert=0.2)
    columns: dict[str, Levels] = Field(default_factory=dict)


class TriggerConfig(Block):
    k: PositiveInt = 2
    n: PositiveInt = 3
    max_per_day: PositiveInt = 1
    # which alerts make a window count as breached (estimated performance only suggests)
    breaches: list[str] = Field(
        default_factory=lambda: ["drift", "prediction_drift", "performance"]
    )


class MonitorTable(Block):
    location: str  # a Delta table (relative to the recipe root)


class MonitorConfig(StepBlock):
    output: MonitorTable
    # the outcomes, as they arrive (later than the scores): a dataset of keys + the target, or a
    # table of the profile's feature store (the labels table); read afresh on every run
    labels: IngestConfig | None = None
    # a labels dataset's column saying when each outcome was recorded: a window then takes, per
    # key, the first outcome recorded after it was scored, as from a labels table (without it
    # every outcome in the file counts for every window)
    labels_time_column: str | None = None
    labels_table: str | None = None
    key_columns: list[str] | None = None  # default: predict.id_columns
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)
    trigger: TriggerConfig = Field(default_factory=TriggerConfig)
    log_to_mlflow: StrictBool = True


@dataclass(frozen=True)
class ScoresSource:
    """Where predict wrote the scores and how to read them, from its declared output
    ``prediction_info`` only (monitor reads nothing of predict's configuration)."""

    path: Path
    engine: str
    id_columns: list[str]
    spark: SparkConfig
    keep_input_columns: bool = True

    @classmethod
    def of(cls, info: dict[str, Any]) -> ScoresSource:
        if "id_columns" not in info:
            raise DatasetError(
                "predict's prediction_info was written by an older mlrecipes (no id_columns); "
                "run predict again before monitor"
            )
        return cls(
            path=Path(info["output_path"]),
            engine=info["engine"],
            id_columns=list(info["id_columns"]),
            spark=SparkConfig.model_validate(info.get("spark") or {}),
            keep_input_columns=bool(info.get("keep_input_columns", True)),
        )
