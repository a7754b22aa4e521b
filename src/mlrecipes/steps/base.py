"""The Step contract: what a step reads, what decides its cache key, and how it runs.

Steps never import each other; they exchange data only through their outputs in the execution
directory (kept in memory too while one process runs several steps, so nothing is read twice).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mlrecipes.cards.model import Card
from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.config.schema import RecipeConfig
from mlrecipes.execution.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.tracking.client import Tracker


@dataclass
class StepResult:
    """What a successful step hands back: a JSON summary (for inspect --json) and its card."""

    summary: dict[str, Any]
    card: Card


@dataclass
class RunMemory:
    """Objects produced earlier in this process, keyed by (step, output name)."""

    frames: dict[tuple[str, str], Any] = field(default_factory=dict)
    tracker: Tracker | None = None


@dataclass
class StepContext:
    step: str
    recipe: LoadedRecipe
    workspace: Workspace
    out_dir: Path
    memory: RunMemory
    log: Callable[[str], None]
    pending: dict[tuple[str, str], Any] = field(default_factory=dict)
    card_seconds: float = 0.0
    cache_key: str = ""

    @property
    def config(self) -> RecipeConfig:
        return self.recipe.config

    @property
    def root(self) -> Path:
        return self.recipe.root

    def input_path(self, step: str, name: str) -> Path:
        return self.workspace.outputs(step) / name

    def read_frame(self, step: str, name: str) -> pd.DataFrame:
        cached = self.memory.frames.get((step, name))
        if cached is not None:
            return cached
        from mlrecipes.io.frames import read_frame

        df = read_frame(self.input_path(step, name))
        self.memory.frames[(step, name)] = df
        return df

    def write_frame(self, name: str, df: pd.DataFrame) -> None:
        from mlrecipes.io.frames import write_frame

        write_frame(df, self.out_dir / name)
        self.pending[(self.step, name)] = df

    def read_json(self, step: str, name: str) -> Any:
        return json.loads(self.input_path(step, name).read_text(encoding="utf-8"))

    def write_json(self, name: str, value: Any) -> None:
        (self.out_dir / name).write_text(json.dumps(value, indent=1, default=str), encoding="utf-8")

    def read_text(self, step: str, name: str) -> str:
        return self.input_path(step, name).read_text(encoding="utf-8").strip()

    def write_text(self, name: str, value: str) -> None:
        (self.out_dir / name).write_text(value, encoding="utf-8")

    @property
    def active_run_marker(self) -> Path:
        """Where a step notes the MLflow run it has open, so a killed run can be closed later."""
        return self.workspace.step_dir(self.step) / "active_mlflow_run"

    def note_active_run(self, run_id: str) -> None:
        self.active_run_marker.write_text(run_id, encoding="utf-8")

    def tracker(self) -> Tracker:
        """The MLflow tracker of this run (imports MLflow on first use only)."""
        if self.memory.tracker is None:
            from mlrecipes.tracking.client import Tracker

            self.memory.tracker = Tracker.for_recipe(self.recipe)
        return self.memory.tracker

    @contextmanager
    def card_work(self) -> Iterator[None]:
        """Time spent only for the card (profiles, plots, rendering): reported per step."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.card_seconds += time.perf_counter() - start

    def new_card(self) -> Card:
        return Card(step=self.step, recipe=self.root.name, profile=self.recipe.profile)


class Step(ABC):
    """Constructors store nothing but the class; all inputs arrive through the context."""

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]] = ()
    uses_tracking: ClassVar[bool] = False  # resolved tracking/registry URIs join the cache key
    always_run: ClassVar[bool] = False  # side-effecting steps (predict) are never skipped

    @abstractmethod
    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        """The parts of the configuration whose change must re-run this step."""

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        """The steps/*.py modules whose source is part of the cache key."""
        return ()

    def source_fingerprint(
        self, recipe: LoadedRecipe, previous: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Fingerprint of external data the step reads (None: it reads none)."""
        return None

    def watched_paths(self, recipe: LoadedRecipe) -> list[Path]:
        """Files and folders whose stat reveals a change of the external data (see fastpath)."""
        return []

    def external_outputs_problem(self, recipe: LoadedRecipe, state: Any) -> str | None:
        """Why what the step created outside the execution directory (an MLflow run, a model
        version) is gone, so its cached result cannot be trusted (None: still there).

        Steps that log to MLflow check that a SQLite tracking/registry store still exists
        (a file check, no MLflow import)."""
        for path in self.external_paths(recipe):
            if not path.is_file():
                return f"the MLflow store {path} that holds this step's results is gone"
        return None

    def external_paths(self, recipe: LoadedRecipe) -> list[Path]:
        """Local files whose disappearance invalidates the step (the up-to-date manifest checks
        that they still exist): the SQLite stores of a step that logs to MLflow."""
        if not self.uses_tracking:
            return []
        from mlrecipes.tracking.settings import resolve_tracking, sqlite_path

        settings = resolve_tracking(recipe)
        paths = [sqlite_path(settings.tracking_uri), sqlite_path(settings.registry_uri)]
        return list(dict.fromkeys(p for p in paths if p is not None))

    @abstractmethod
    def run(self, ctx: StepContext) -> StepResult:
        """Do the work, writing outputs under ``ctx.out_dir``."""


def dump(model: Any) -> Any:
    """A pydantic block (or None) as plain JSON data for cache keys (a step's ``timeout`` bounds
    how long it may run, not what it produces, so it is left out)."""
    return None if model is None else model.model_dump(mode="json", exclude={"timeout"})
