"""The Step contract: what a step declares, what decides its cache key, and how it runs.

A step is one module of ``mlrecipes.steps`` holding one :class:`Step` subclass, which declares
its configuration block (``config_model``), the steps it reads from (``inputs``), the files it
writes (``outputs``, with the ``get_artifact`` names they are served under) and the user modules
it may load. The schema's ``steps`` section, the DAG, ``inspect`` and ``get_artifact`` are built
from these declarations; nothing else lists the steps.

Steps never import each other, nor the execution engine; they exchange data only through their
declared outputs, read by (step, output name) and resolved to files from the declarations. A step
always gets its input as a re-read of the file (as MLflow Recipes did), never the frame the step
before it held: the two differ (a missing text value is NaN in a frame read from CSV and None
once through parquet, which scikit-learn treats differently), and one run must equal the same
steps run one by one. A frame read once is kept for the rest of the process.
"""

from __future__ import annotations

import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from mlrecipes.cards.model import Card
from mlrecipes.config.redaction import redact
from mlrecipes.io.atomic import write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

    from mlrecipes.config.blocks import StepBlock
    from mlrecipes.config.loader import LoadedRecipe
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.io.journal import Journal
    from mlrecipes.tracking.client import Tracker

ArtifactKind = Literal["frame", "pickle", "text", "model", "run", "model_version", "scores"]
Pipeline = Literal["training", "scoring"]


@dataclass(frozen=True)
class Output:
    """A file (or folder) a step writes in its outputs, by the name other steps read it by.

    ``artifacts`` maps the ``get_artifact`` names served from it (MLflow Recipes' names) to how
    they are loaded (execution/artifacts.py). ``logged``: the step also logs it to the model's
    MLflow run as ``<step>/<file>``, where a later run reads it by model version
    (:meth:`StepContext.logged_output_of`): deploy the champion's training rows, monitor the
    scoring model's reference.
    """

    name: str
    file: str
    artifacts: Mapping[str, ArtifactKind] = field(default_factory=lambda: MappingProxyType({}))
    logged: bool = False

    def run_path(self, step: str) -> str:
        """Where the output is logged in the MLflow run."""
        return f"{step}/{self.file}"


class StepFiles(Protocol):
    """What a step may know of the execution directory (implemented by execution.Workspace)."""

    @property
    def identity(self) -> str: ...

    def outputs(self, step: str) -> Path: ...

    def step_dir(self, step: str) -> Path: ...

    def card_path(self, step: str) -> Path: ...


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


def declared_output(declarations: Mapping[str, type[Step]], step: str, name: str) -> Output:
    """The output ``name`` that ``step`` declares (an engine error if it declares none)."""
    cls = declarations.get(step)
    for output in cls.outputs if cls is not None else ():
        if output.name == name:
            return output
    raise LookupError(f"step '{step}' declares no output named '{name}'")


@dataclass
class StepContext:
    step: str
    recipe: LoadedRecipe
    workspace: StepFiles
    out_dir: Path
    memory: RunMemory
    log: Callable[[str], None]
    # fitted objects handed to later steps of this process (a pickle would give equal ones);
    # never frames: those are re-read from their files
    pending: dict[tuple[str, str], Any] = field(default_factory=dict)
    card_seconds: float = 0.0
    cache_key: str = ""
    # Signals wait while the body runs (registry writes); the engine passes its own.
    critical_section: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
    # every step's declaration by name (execution discovers them), for input and output paths
    declarations: Mapping[str, type[Step]] = field(default_factory=dict)
    # what this run's cache key was computed from (``Step.source_fingerprint``), so the run
    # uses exactly what the key names (e.g. the model version behind an alias)
    source: Mapping[str, Any] | None = None

    @property
    def config(self) -> RecipeConfig:
        return self.recipe.config

    @property
    def root(self) -> Path:
        return self.recipe.root

    def log_output(self, name: str) -> None:
        """Log this step's output ``name`` (declared ``logged``) to the open MLflow run."""
        self._logged(self.step, name)  # refuses an output not declared logged
        self.tracker().log_artifact(self.output_path(name), self.step)  # as <step>/<file>

    def logged_output_of(self, model: str, version: str, step: str, name: str, into: Path) -> Path:
        """Output ``name`` that ``step`` logged in the run that trained version ``version`` of
        ``model``, downloaded into ``into`` (MissingArtifactError when that run has none)."""
        output = self._logged(step, name)
        tracker = self.tracker()
        run_id = tracker.version(model, version).run_id
        return tracker.download_run_artifact(run_id, output.run_path(step), into)

    def _logged(self, step: str, name: str) -> Output:
        output = declared_output(self.declarations, step, name)
        if not output.logged:
            raise LookupError(f"step '{step}' does not log its output '{name}' to MLflow")
        return output

    def download(self, uri: str) -> str:
        """A remote data location (http, s3, dbfs, ...) fetched to a local path, by MLflow's
        downloader (imported on first use only)."""
        from mlrecipes.tracking.models import download_artifacts

        return download_artifacts(uri)

    def input_path(self, step: str, name: str) -> Path:
        """Where upstream ``step`` wrote its output ``name``."""
        return self.workspace.outputs(step) / declared_output(self.declarations, step, name).file

    def output_path(self, name: str) -> Path:
        """Where this step writes its output ``name`` (inside the temporary outputs folder)."""
        return self.out_dir / declared_output(self.declarations, self.step, name).file

    def read_frame(self, step: str, name: str) -> pd.DataFrame:
        cached = self.memory.frames.get((step, name))
        if cached is not None:
            return cached
        from mlrecipes.io.frames import read_frame

        df = read_frame(self.input_path(step, name))
        self.memory.frames[(step, name)] = df
        return df

    def write_frame(self, name: str, df: pd.DataFrame, keep_index: bool = False) -> None:
        from mlrecipes.io.frames import write_frame

        write_frame(df, self.output_path(name), keep_index=keep_index)

    def read_json(self, step: str, name: str) -> Any:
        return json.loads(self.input_path(step, name).read_text(encoding="utf-8"))

    def write_json(self, name: str, value: Any) -> None:
        text = json.dumps(value, indent=1, default=str)
        self.output_path(name).write_text(redact(text), encoding="utf-8")

    def read_text(self, step: str, name: str) -> str:
        return self.input_path(step, name).read_text(encoding="utf-8").strip()

    def write_text(self, name: str, value: str) -> None:
        self.output_path(name).write_text(redact(value), encoding="utf-8")

    def note_active_run(self, run_id: str) -> None:
        # atomic: a kill between creating the file and writing it left an empty marker,
        # and the run it should have named stayed RUNNING
        write_text_atomic(self.workspace.active_run_marker(self.step), run_id)

    def journal(self, name: str) -> Journal:
        """This step's journal ``name`` (kept across runs, beside its state)."""
        from mlrecipes.io.journal import Journal

        return Journal(self.workspace.step_dir(self.step) / f"{name}.journal.json")

    def tracker(self) -> Tracker:
        """The MLflow tracker of this run (imports MLflow on first use only)."""
        if self.memory.tracker is None:
            from mlrecipes.config.tracking import resolve_tracking
            from mlrecipes.tracking.client import Tracker

            self.memory.tracker = Tracker(resolve_tracking(self.recipe))
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
        previews = self.config.cards.row_previews
        if previews is None:
            from mlrecipes.access.protection import protected_profile

            previews = not protected_profile(self.root, self.recipe.profile)
        return Card(
            step=self.step,
            recipe=self.root.name,
            profile=self.recipe.profile,
            row_previews=previews,
        )


class Step(ABC):
    """Constructors store nothing but the class; all inputs arrive through the context."""

    name: ClassVar[str]
    # The block under ``steps.<name>``; required blocks default to None and are checked when
    # the step runs ("steps.ingest is required to run 'ingest'"), others to their defaults.
    config_model: ClassVar[type[StepBlock]]
    config_required: ClassVar[bool] = False
    inputs: ClassVar[tuple[str, ...]] = ()
    # steps that run first when the recipe configures them (their block is set), with no output
    # read from them: ingest after features, which writes the tables ingest looks up
    after_if_configured: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()
    # steps/<module>.py files of the recipe this step may load (the others are helpers, whose
    # source joins the cache key of every step that loads user code)
    user_code_modules: ClassVar[tuple[str, ...]] = ()
    pipeline: ClassVar[Pipeline] = "training"
    uses_tracking: ClassVar[bool] = False  # resolved tracking/registry URIs join the cache key
    always_run: ClassVar[bool] = False  # side-effecting steps (predict) are never skipped
    # listed by inspect even when the recipe does not configure it (features is not: a recipe
    # without feature tables never shows it)
    listed_unconfigured: ClassVar[bool] = True

    def block(self, config: RecipeConfig) -> Any:
        """This step's configuration block; a clear error when a required one is absent."""
        value = getattr(config.steps, self.name)
        if value is None:
            from mlrecipes.errors import ConfigError

            raise ConfigError(f"recipe.yaml: steps.{self.name} is required to run '{self.name}'")
        return value

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        """The parts of the configuration whose change must re-run this step (by default its
        block)."""
        return {"block": dump(getattr(config.steps, self.name))}

    def source_block(self, config: RecipeConfig) -> Any:
        """The data source (an ``IngestConfig``) this step reads from outside the execution
        directory; None: it reads none. A source's content joins the cache key, its files are
        watched by the up-to-date manifest, and a custom loader's module counts as step code."""
        return None

    def user_modules(self, config: RecipeConfig) -> tuple[str, ...]:
        """The steps/*.py modules whose source is part of the cache key."""
        source = self.source_block(config)
        return ("ingest",) if source is not None and source.loader_method else ()

    def source_fingerprint(
        self, recipe: LoadedRecipe, previous: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Fingerprint of external data the step reads (None: it reads none)."""
        source = self.source_block(recipe.config)
        if source is None:
            return None
        from mlrecipes.io.fingerprint import fingerprint

        return fingerprint(source, recipe.root, self.name, previous)

    def watched_paths(self, recipe: LoadedRecipe) -> list[Path]:
        """Files and folders whose stat reveals a change of the external data (see fastpath)."""
        source = self.source_block(recipe.config)
        if source is None:
            return []
        from mlrecipes.io.fingerprint import watched_paths

        return watched_paths(source, recipe.root, self.name)

    def watched_after(self, recipe: LoadedRecipe) -> list[Path] | None:
        """Files whose stat, taken after the run, reveals that what the step decided outside the
        execution directory was changed since (the up-to-date manifest watches them); None:
        such a change cannot be seen from a file, so the manifest is not written."""
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
        from mlrecipes.config.tracking import resolve_tracking
        from mlrecipes.tracking.settings import sqlite_path

        settings = resolve_tracking(recipe)
        paths = [sqlite_path(settings.tracking_uri), sqlite_path(settings.registry_uri)]
        return list(dict.fromkeys(p for p in paths if p is not None))

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        """This step's part of the run's one-line result, from the summary it left (None: the
        step says nothing there). The step that wrote the summary is the one that reads it."""
        return None

    @abstractmethod
    def run(self, ctx: StepContext) -> StepResult:
        """Do the work, writing outputs under ``ctx.out_dir``."""


def dump(model: Any) -> Any:
    """A pydantic block (or None) as plain JSON data for cache keys (a step's ``timeout`` bounds
    how long it may run, not what it produces, so it is left out)."""
    return None if model is None else model.model_dump(mode="json", exclude={"timeout"})
