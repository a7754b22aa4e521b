"""Pydantic models of a rendered, merged recipe configuration (classification/v1, regression/v1).

Keys and defaults follow MLflow Recipes so existing recipe.yaml files validate unchanged; unknown
keys are errors. Cross-field rules (task-specific metrics, model name) live in RecipeConfig.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    StrictBool,
    field_validator,
    model_validator,
)

from mlrecipes.metrics import BUILTIN_METRICS, DEFAULT_PRIMARY_METRIC

NATIVE_FORMATS = ("csv", "parquet", "delta")
_ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepBlock(Block):
    """Keys every step block has (new in mlrecipes)."""

    # Seconds the step may run before it is ended as a failure; none by default (MLflow Recipes
    # had no limit), the churn template sets one per step.
    timeout: PositiveFloat | None = None


class IngestConfig(StepBlock):
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


class SplitConfig(StepBlock):
    using: Literal["split_ratios", "custom"] = "split_ratios"
    split_ratios: list[float] = Field(default_factory=lambda: [0.75, 0.125, 0.125])
    split_method: str | None = None
    post_split_filter_method: str | None = None
    post_split_method: str | None = None
    skip_data_profiling: StrictBool = False

    @field_validator("split_ratios")
    @classmethod
    def _three_positive(cls, value: list[float]) -> list[float]:
        if len(value) != 3 or any(v <= 0 for v in value):
            raise ValueError(f"expected 3 positive numbers (train, validation, test), got {value}")
        return value

    @model_validator(mode="after")
    def _custom_needs_method(self) -> SplitConfig:
        if self.using == "custom" and not self.split_method:
            raise ValueError("using: custom needs split_method (a function in steps/split.py)")
        return self


class TransformConfig(StepBlock):
    using: Literal["custom"] = "custom"
    transformer_method: str | None = None
    skip_data_profiling: StrictBool = False


HYPEROPT_DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "quniform": ("low", "high", "q"),
    "loguniform": ("low", "high"),
    "qloguniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
    "randint": ("low", "high"),
    "uniformint": ("low", "high"),
}


class TuningParameter(Block):
    values: list[Any] | None = None
    distribution: str | None = None
    low: float | None = None
    high: float | None = None
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TuningParameter:
        if (self.values is None) == (self.distribution is None):
            raise ValueError("give either values: [...] or distribution: <hyperopt function>")
        if self.distribution is not None:
            if self.distribution not in HYPEROPT_DISTRIBUTIONS:
                raise ValueError(
                    f"unknown distribution '{self.distribution}'; expected one of "
                    f"{', '.join(HYPEROPT_DISTRIBUTIONS)}"
                )
            missing = [
                k for k in HYPEROPT_DISTRIBUTIONS[self.distribution] if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f"distribution {self.distribution} needs {', '.join(missing)}")
        return self


class TuningConfig(Block):
    enabled: StrictBool
    max_trials: PositiveInt | None = None
    parameters: dict[str, TuningParameter] = Field(default_factory=dict)
    algorithm: str = "hyperopt.rand.suggest"
    parallelism: PositiveInt = 1
    sample_fraction: float = Field(default=1.0, gt=0, le=1)
    early_stop_fn: str | None = None

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> TuningConfig:
        if self.enabled:
            if self.max_trials is None:
                raise ValueError("max_trials is required when tuning is enabled")
            if not self.parameters:
                raise ValueError("parameters is required when tuning is enabled")
        if self.parallelism != 1:
            raise ValueError(
                "parallelism > 1 (hyperopt SparkTrials) is not supported; trials run sequentially"
            )
        return self


class TrainConfig(StepBlock):
    using: Literal["custom"] = "custom"
    estimator_method: str
    estimator_params: dict[str, Any] = Field(default_factory=dict)
    tuning: TuningConfig | None = None
    rebalance_training_data: StrictBool = True
    resampling_minority_percentage: float = Field(default=0.3, gt=0, lt=0.5)
    calibrate_proba: Literal["sigmoid", "isotonic"] | None = None
    predict_scores_for_all_classes: StrictBool = True
    predict_prefix: str = "predicted_"
    skip_data_profiling: StrictBool = False

    @property
    def tuning_enabled(self) -> bool:
        return self.tuning is not None and self.tuning.enabled


class Criterion(Block):
    metric: str
    threshold: float


class EvaluateConfig(StepBlock):
    validation_criteria: list[Criterion] = Field(default_factory=list)


class RegisterConfig(StepBlock):
    model_name: str | None = None
    allow_non_validated_model: StrictBool = False
    registry_uri: str | None = None
    alias: str = "challenger"

    @field_validator("alias")
    @classmethod
    def _valid_alias(cls, value: str) -> str:
        if not _ALIAS_RE.match(value) or value.lower() == "latest" or re.match(r"^[vV]\d+$", value):
            raise ValueError(
                f"'{value}' is not a usable registry alias: use letters, digits, '_' or '-', "
                "not 'latest' and not v<number>"
            )
        return value


class PredictOutput(Block):
    using: Literal["parquet", "delta", "table"]
    location: str


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


class PredictConfig(StepBlock):
    output: PredictOutput | None = None
    using: Literal["parquet", "delta", "table"] | None = None
    location: str | None = None
    model_uri: str | None = None
    result_type: str = "double"
    save_mode: Literal["overwrite", "append", "default", "error", "errorifexists", "ignore"] = (
        "overwrite"
    )
    skip_data_profiling: StrictBool = False
    # mlrecipes additions
    engine: Literal["pandas", "spark"] = "pandas"
    id_columns: list[str] = Field(default_factory=list)
    batch_size: PositiveInt = 50_000
    partition_by_date: StrictBool = False
    scoring_time: datetime | None = None  # default now (UTC); set it to backfill a past date
    spark: SparkConfig = Field(default_factory=SparkConfig)

    @model_validator(mode="after")
    def _output_given(self) -> PredictConfig:
        if self.output is None and (self.using is None or self.location is None):
            raise ValueError("output: {using, location} is required")
        if self.resolved_output.using == "table" and self.engine != "spark":
            raise ValueError("output.using: table (a metastore table) needs engine: spark")
        return self

    @property
    def resolved_output(self) -> PredictOutput:
        if self.output is not None:
            return self.output
        return PredictOutput(using=self.using, location=self.location)  # type: ignore[arg-type]


# pydantic warns that "register" shadows BaseModel.register; the key is MLflow Recipes'.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "register" in "StepsConfig"')

    class StepsConfig(Block):
        ingest: IngestConfig | None = None
        split: SplitConfig = Field(default_factory=SplitConfig)
        transform: TransformConfig = Field(default_factory=TransformConfig)
        train: TrainConfig | None = None
        evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
        register: RegisterConfig = Field(default_factory=RegisterConfig)
        ingest_scoring: IngestConfig | None = None
        predict: PredictConfig | None = None

        @model_validator(mode="before")
        @classmethod
        def _null_blocks_mean_defaults(cls, data: Any) -> Any:
            # A block with only comments under it is YAML null; MLflow Recipes crashed on some of these.
            if isinstance(data, dict):
                return {k: v for k, v in data.items() if v is not None}
            return data


class CustomMetric(Block):
    name: str
    function: str
    greater_is_better: StrictBool


class ExperimentConfig(Block):
    name: str | None = None
    id: str | None = None
    tracking_uri: str | None = None
    artifact_location: str | None = None
    run_name_prefix: str | None = None


class ModelRegistryConfig(Block):
    registry_uri: str | None = None
    model_name: str | None = None


class RecipeConfig(Block):
    recipe: Literal["classification/v1", "regression/v1"]
    target_col: str
    positive_class: str | int | float | bool | None = None
    primary_metric: str | None = None
    steps: StepsConfig = Field(default_factory=StepsConfig)
    custom_metrics: list[CustomMetric] = Field(default_factory=list)
    experiment: ExperimentConfig = Field(default_factory=ExperimentConfig)
    model_registry: ModelRegistryConfig = Field(default_factory=ModelRegistryConfig)

    @property
    def is_classification(self) -> bool:
        return self.recipe.startswith("classification")

    @property
    def task(self) -> str:
        if not self.is_classification:
            return "regression"
        return (
            "classification/binary"
            if self.positive_class is not None
            else "classification/multiclass"
        )

    @property
    def metric_directions(self) -> dict[str, bool]:
        directions = dict(BUILTIN_METRICS[self.task])
        for metric in self.custom_metrics:
            directions[metric.name] = metric.greater_is_better
        return directions

    @property
    def primary(self) -> str:
        return self.primary_metric or DEFAULT_PRIMARY_METRIC[self.task]

    @property
    def model_name(self) -> str | None:
        return self.model_registry.model_name or self.steps.register.model_name

    @model_validator(mode="after")
    def _cross_checks(self) -> RecipeConfig:
        if self.positive_class is not None and not self.is_classification:
            raise ValueError("positive_class applies only to recipe: classification/v1")
        known = self.metric_directions
        if self.primary_metric is not None and self.primary_metric not in known:
            raise ValueError(
                f"primary_metric '{self.primary_metric}' is not a metric of {self.task}; "
                f"expected one of {', '.join(sorted(known))}"
            )
        unknown = [
            c.metric for c in self.steps.evaluate.validation_criteria if c.metric not in known
        ]
        if unknown:
            raise ValueError(
                f"steps.evaluate.validation_criteria uses undefined metrics {unknown}; "
                f"expected built-in metrics of {self.task} ({', '.join(sorted(known))}) "
                "or names from custom_metrics"
            )
        return self
