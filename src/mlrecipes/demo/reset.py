"""``mlrecipes demo reset``: the seed demo's demo-setup for one environment. Removes the
profile's experiments (its own and ``<experiment>-monitoring``), its registered model (every
version and alias), its feature store, scoring output, monitoring and trigger tables and its
execution directory. Idempotent: what is already gone is skipped.

Reset removes only what the profile owns. Every local location is resolved first (symlinks,
``..``, every ``file:`` spelling) and must lie inside the recipe root and outside every other
environment's data roots (the guard ``run`` uses), or nothing at all is removed. Protection
follows what would be deleted, not the profile's name: a model, an experiment or a data root
that belongs to a protected environment (``access.yaml``; prod by default), reached through a
renamed copy of prod or a variable, needs ``--i-know`` as prod itself does.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.access.data_roots import crossings, environment_of
from mlrecipes.access.protection import access_spec, protected_profile
from mlrecipes.access.spec import AccessSpec
from mlrecipes.config.locations import contains, is_remote, resolved_path
from mlrecipes.errors import ConfigError

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.recipe import Recipe


@dataclass
class ResetPlan:
    profile: str
    tracking_uri: str
    experiments: list[str]
    model: str
    paths: list[Path] = field(default_factory=list)
    # what of a protected environment the plan would delete (empty: nothing protected)
    protected: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"experiment '{e}' at {self.tracking_uri}" for e in self.experiments]
        lines.append(f"registered model '{self.model}' (every version and alias)")
        return lines + [str(p) for p in self.paths]


def _locations(config: RecipeConfig) -> list[tuple[str, str]]:
    """(key, location) of every data location reset removes."""
    found = []
    if config.feature_store is not None:
        found.append(("feature_store.root", config.feature_store.root))
    if config.steps.predict is not None:
        found.append(
            ("steps.predict.output.location", config.steps.predict.resolved_output.location)
        )
    if config.steps.monitor is not None:
        table = config.steps.monitor.output.location
        found += [
            ("steps.monitor.output.location", table),
            ("steps.monitor.output.location (trigger table)", table.rstrip("/") + "_trigger"),
        ]
    return found


def _confined(recipe: Recipe, locations: list[tuple[str, str]]) -> list[Path]:
    """The resolved paths, each checked to be the profile's own (else nothing is removed)."""
    root = recipe.root.resolve()
    spec = access_spec(recipe.root)
    if spec is not None:
        config = {key: {"location": value} for key, value in locations}
        found = crossings(spec, recipe.profile, config, recipe.root)
        if found:
            what = "; ".join(f"{k.removesuffix('.location')}: {v} is under {env}'s data root {r}"
                             for k, v, env, r in found)  # fmt: skip
            raise ConfigError(
                f"demo reset of '{recipe.profile}' would delete another environment's data: "
                f"{what}. Nothing was removed; point the variables at this profile's own data"
            )
    paths = []
    for key, location in locations:
        if is_remote(location):
            continue  # a table in a metastore or an object store: not ours to delete here
        path = resolved_path(location, recipe.root)
        if not path.is_relative_to(root):
            raise ConfigError(
                f"demo reset of '{recipe.profile}': {key} is {location}, which resolves to "
                f"{path}, outside the recipe root {root}. Reset removes only what the profile "
                "owns inside the root; nothing was removed"
            )
        paths.append(path)
    return paths


def _execution_dir(recipe: Recipe) -> list[Path]:
    """The execution directory, when it is one: inside the root, or holding a run's events
    (MLRECIPES_EXECUTION_DIR may point anywhere; a folder that no run wrote is not removed)."""
    ws = recipe.workspace
    if not ws.path.exists() or contains(recipe.root, ws.path) or ws.events_path.is_file():
        return [ws.path]
    raise ConfigError(
        f"demo reset of '{recipe.profile}': the execution directory {ws.path} is outside the "
        "recipe root and holds no run's events: it is not this profile's, and nothing was removed"
    )


def _protected_environments(spec: AccessSpec | None, own: str | None) -> list[tuple[str, Any]]:
    if spec is None:
        return []
    return [(n, e) for n, e in spec.environments.items() if e.is_protected(n) and n != own]


def _protected_hits(recipe: Recipe, plan: ResetPlan) -> list[str]:
    """What of a protected environment the plan would delete, each named."""
    spec = access_spec(recipe.root)
    own = environment_of(spec, recipe.profile) if spec else None
    hits = (
        [f"profile '{recipe.profile}' itself"]
        if protected_profile(recipe.root, recipe.profile)
        else []
    )
    for name, env in _protected_environments(spec, own):
        of = f"of protected environment '{name}'"
        hits += [f"experiment '{e}' {of}" for e in env.experiments if e in plan.experiments]
        if plan.model in env.registered_models:
            hits.append(f"registered model '{plan.model}' {of}")
        for root_value in env.data_roots:
            base = resolved_path(root_value, recipe.root)
            hits += [
                f"{path} (data root {root_value} {of})"
                for path in plan.paths
                if path.is_relative_to(base) or base.is_relative_to(path)
            ]
    return hits


def reset_plan(recipe: Recipe) -> ResetPlan:
    """What reset would remove; raises (nothing removed) when any of it is not the profile's."""
    from mlrecipes.config.tracking import resolve_tracking

    loaded = recipe._load()
    settings = resolve_tracking(loaded)
    experiment = settings.experiment_name or settings.recipe_name
    plan = ResetPlan(
        profile=recipe.profile,
        tracking_uri=settings.tracking_uri,
        experiments=[experiment, f"{experiment}-monitoring"],
        model=settings.model_name,
        paths=[*_confined(recipe, _locations(loaded.config)), *_execution_dir(recipe)],
    )
    plan.protected = _protected_hits(recipe, plan)
    return plan


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
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed.append(str(path))
        elif path.exists() or path.is_symlink():
            path.unlink()
            removed.append(str(path))
    return removed
