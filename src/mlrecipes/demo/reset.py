"""``mlrecipes demo reset``: the seed demo's demo-setup for one environment. Removes the
profile's experiments (its own and ``<experiment>-monitoring``), its registered model (every
version and alias), its feature store, scoring output, monitoring and trigger tables and its
execution directory. Idempotent: what is already gone is skipped."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrecipes.recipe import Recipe

PROTECTED = ("prod",)  # profiles reset only with --i-know


@dataclass
class ResetPlan:
    profile: str
    tracking_uri: str
    experiments: list[str]
    model: str
    paths: list[Path] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"experiment '{e}' at {self.tracking_uri}" for e in self.experiments]
        lines.append(f"registered model '{self.model}' (every version and alias)")
        return lines + [str(p) for p in self.paths]


def _local(location: str, root: Path) -> Path | None:
    if "://" in location:
        return None  # a table in a metastore or object store: not ours to delete here
    path = Path(location).expanduser()
    return path if path.is_absolute() else root / path


def reset_plan(recipe: Recipe) -> ResetPlan:
    from mlrecipes.config.tracking import resolve_tracking

    loaded = recipe._load()
    config = loaded.config
    settings = resolve_tracking(loaded)
    experiment = settings.experiment_name or settings.recipe_name
    locations = []
    if config.feature_store is not None:
        locations.append(config.feature_store.root)
    if config.steps.predict is not None:
        locations.append(config.steps.predict.resolved_output.location)
    if config.steps.monitor is not None:
        table = config.steps.monitor.output.location
        locations += [table, table.rstrip("/") + "_trigger"]
    paths = [p for p in (_local(x, recipe.root) for x in locations) if p is not None]
    return ResetPlan(
        profile=recipe.profile,
        tracking_uri=settings.tracking_uri,
        experiments=[experiment, f"{experiment}-monitoring"],
        model=settings.model_name,
        paths=[*paths, recipe.workspace.path],
    )


def reset(recipe: Recipe, plan: ResetPlan) -> list[str]:
    """Remove everything in ``plan``; returns what was actually removed."""
    from mlrecipes.config.tracking import resolve_tracking
    from mlrecipes.tracking.cleanup import remove_experiment, remove_registered_model
    from mlrecipes.tracking.settings import engine_environment

    removed = []
    with engine_environment():
        settings = resolve_tracking(recipe._load())
        for name in plan.experiments:
            if remove_experiment(settings, name):
                removed.append(f"experiment '{name}'")
        if remove_registered_model(settings, plan.model):
            removed.append(f"registered model '{plan.model}'")
    for path in plan.paths:
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(str(path))
        elif path.exists():
            path.unlink()
            removed.append(str(path))
    return removed
