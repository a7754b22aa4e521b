"""Pydantic models of a rendered, merged recipe configuration (classification/v1, regression/v1).

Keys and defaults follow MLflow Recipes so existing recipe.yaml files validate unchanged; unknown
keys are errors. The ``steps`` section is typed by the steps' own declarations (each step module
names its block model, ``Step.config_model``): the steps package assembles it and
:func:`with_steps` makes the complete schema, so config imports nothing above it. Cross-field
rules (task-specific metrics, model name) live in RecipeConfig.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import Field, StrictBool, create_model, field_validator, model_validator

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.config.metrics import BUILTIN_METRICS, DEFAULT_PRIMARY_METRIC

__all__ = ["Block", "RecipeConfig", "StepBlock", "with_steps"]


class CustomMetric(Block):
    name: str
    function: str
    greater_is_better: StrictBool


class ExperimentConfig(Block):
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        # MLflow Recipes refused an empty name; taking the folder name instead hid a typo'd
        # template variable that rendered to nothing.
        if value is not None and not value.strip():
            raise ValueError("experiment.name is empty; give the MLflow experiment a name")
        return value

    id: str | None = None
    tracking_uri: str | None = None
    artifact_location: str | None = None
    run_name_prefix: str | None = None


class ModelRegistryConfig(Block):
    registry_uri: str | None = None
    model_name: str | None = None


class FeatureStoreConfig(Block):
    """Where this profile's feature tables live (new in mlrecipes): a folder of Delta tables,
    relative to the recipe root, never shared with another profile; or Databricks' client."""

    root: str
    backend: Literal["delta", "databricks"] = "delta"


class CardsConfig(Block):
    """What step cards may show (new in mlrecipes). ``row_previews``: tables of individual
    records (previews, worst predictions); unset, they are on except for protected profiles
    (prod, or an environment access.yaml marks ``protected``), whose cards show schema and
    statistics only: anyone with READ on prod can open them."""

    row_previews: bool | None = None


class RecipeConfig(Block):
    recipe: Literal["classification/v1", "regression/v1"]
    target_col: str
    positive_class: str | int | float | bool | None = None
    primary_metric: str | None = None
    # typed by with_steps(); the base alone knows no step (an empty section)
    steps: Any = Field(default_factory=Block)
    custom_metrics: list[CustomMetric] = Field(default_factory=list)
    experiment: ExperimentConfig = Field(default_factory=ExperimentConfig)
    model_registry: ModelRegistryConfig = Field(default_factory=ModelRegistryConfig)
    feature_store: FeatureStoreConfig | None = None
    cards: CardsConfig = Field(default_factory=CardsConfig)

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


@functools.cache
def with_steps(steps_model: type[Block]) -> type[RecipeConfig]:
    """The recipe schema whose ``steps`` section is ``steps_model`` (see ``mlrecipes.steps``)."""
    return create_model(
        "RecipeConfig",
        __base__=RecipeConfig,
        steps=(steps_model, Field(default_factory=steps_model)),
    )
