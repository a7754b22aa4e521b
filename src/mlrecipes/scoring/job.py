"""One scoring run as both engines take it: what to score, with which model, where to write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlrecipes.io.sources import SparkConfig
    from mlrecipes.tracking.models import ResolvedModel


@dataclass(frozen=True)
class ScoringJob:
    """Everything an engine needs; built once per run by the predict step.

    ``plan`` maps the columns that need converting to the model's types (``frames.conversions``),
    ``input_columns`` lists every input column of the model's signature;
    ``location`` is the output folder (None for a metastore table, named by ``table``).
    """

    model: Any  # the loaded pyfunc model
    resolved: ResolvedModel
    source: Path
    plan: dict[str, str]
    input_columns: tuple[str, ...]  # the model's input columns, in its signature's order
    scored_at: datetime
    using: str
    location: Path | None
    table: str | None
    save_mode: str
    partition: list[str] | None
    id_columns: list[str]
    keep_input_columns: bool
    batch_size: int
    result_type: str = "double"
    spark: SparkConfig | None = None
