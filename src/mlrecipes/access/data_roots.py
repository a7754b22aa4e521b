"""Data separation: a profile never reads or writes under another environment's data roots.

``access.yaml`` lists each environment's roots (its data, feature store, scoring outputs,
monitoring tables) and which profile is that environment. Before a run, every data location of
the resolved recipe (each ``location`` and ``root`` in its config) is checked: one under a root of
another environment stops the run, naming the key, the path and whose root it is, so a dev run can
never train on prod data through a wrong variable. ``MLRECIPES_ALLOW_CROSS_ENVIRONMENT_DATA=1``
allows it deliberately (e.g. a one-off backfill); it is then reported, not silent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.access.spec import AccessSpec

if TYPE_CHECKING:
    from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.config.locations import is_remote, resolved_path

OVERRIDE = "MLRECIPES_ALLOW_CROSS_ENVIRONMENT_DATA"
PATH_KEYS = ("location", "root")


def environment_of(spec: AccessSpec, profile: str) -> str | None:
    return next((name for name, env in spec.environments.items() if env.profile == profile), None)


def data_locations(config: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key, value) of every data location in a config dump (nested dicts and lists)."""
    if isinstance(config, dict):
        for key, value in config.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key in PATH_KEYS and isinstance(value, str):
                yield path, value
            elif key in PATH_KEYS and isinstance(value, list):
                yield from ((f"{path}[{i}]", v) for i, v in enumerate(value) if isinstance(v, str))
            else:
                yield from data_locations(value, path)
    elif isinstance(config, list):
        for i, value in enumerate(config):
            yield from data_locations(value, f"{prefix}[{i}]")


def _normalised(value: str, root: Path) -> str:
    """A comparable form: remote URIs as they are (trailing slash stripped), every local
    spelling resolved to the path the readers open (one normaliser: config.locations)."""
    value = os.path.expandvars(value)
    if is_remote(value):
        return value.rstrip("/")
    return str(resolved_path(value, root))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def crossings(
    spec: AccessSpec, profile: str, config: dict[str, Any], root: Path
) -> list[tuple[str, str, str, str]]:
    """(key, location, other environment, its root) for every location the profile may not use."""
    own = environment_of(spec, profile)
    others = [
        (name, root_value)
        for name, env in spec.environments.items()
        if name != own
        for root_value in env.data_roots
    ]
    found = []
    for key, value in data_locations(config):
        location = _normalised(value, root)
        for name, root_value in others:
            if _under(location, _normalised(root_value, root)):
                found.append((key, value, name, root_value))
                break
    return found


def refusal(profile: str, own: str | None, found: list[tuple[str, str, str, str]]) -> str:
    where = f"environment '{own}'" if own else "no environment in access.yaml"
    lines = "; ".join(
        f"{key}: {value} is under {env}'s data root {env_root}"
        for key, value, env, env_root in found
    )
    return (
        f"profile '{profile}' ({where}) would use another environment's data: {lines}. "
        f"Point the variable at this environment's data, or set {OVERRIDE}=1 to allow it on purpose"
    )


def check_recipe(
    root: Path, profile: str, config: dict[str, Any], say: Callable[[str], None]
) -> None:
    """Refuse to run ``profile`` on another environment's data; the override is said, not silent."""
    from mlrecipes.access.protection import access_spec
    from mlrecipes.errors import ConfigError

    spec = access_spec(root)
    found = crossings(spec, profile, config, root) if spec is not None else []
    if not found:
        return
    assert spec is not None
    message = refusal(profile, environment_of(spec, profile), found)
    if os.environ.get(OVERRIDE) == "1":
        say(f"{OVERRIDE}=1: running anyway. {message}")
        return
    raise ConfigError(message)


def check_before_running(loaded: LoadedRecipe, say: Callable[[str], None]) -> None:
    """Refuse another environment's data (access.yaml's data_roots); say once where
    credentials found in a store URI belong."""
    from mlrecipes.config.redaction import CREDENTIALS_HINT
    from mlrecipes.config.tracking import resolve_tracking

    check_recipe(loaded.root, loaded.profile, loaded.config.model_dump(mode="json"), say)
    if resolve_tracking(loaded).credentials_in_uri:
        say(CREDENTIALS_HINT)
