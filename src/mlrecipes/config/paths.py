"""Where a recipe's files are. Light on purpose: the CLI's up-to-date check imports only this."""

from __future__ import annotations

from pathlib import Path

from mlrecipes.errors import ConfigError

RECIPE_FILE = "recipe.yaml"
PIPELINE_FILE = "pipeline.yaml"  # an MLflow Pipelines project's (MLflow 1.27 to 2.0)


def recipe_file(root: Path) -> str:
    """``recipe.yaml``, or an MLflow Pipelines project's ``pipeline.yaml`` when there is none."""
    if not (root / RECIPE_FILE).is_file() and (root / PIPELINE_FILE).is_file():
        return PIPELINE_FILE
    return RECIPE_FILE


def profile_path(profile: str) -> str:
    return f"profiles/{profile}.yaml"


def find_recipe_root(start: Path | None = None) -> Path:
    """The nearest ancestor of ``start`` (default: CWD) holding a recipe.yaml (or an MLflow
    Pipelines project's pipeline.yaml)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / RECIPE_FILE).is_file() or (candidate / PIPELINE_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no {RECIPE_FILE} (or MLflow Pipelines' {PIPELINE_FILE}) found in {here} or any parent "
        "directory"
    )
