"""Where a recipe's files are. Light on purpose: the CLI's up-to-date check imports only this."""

from __future__ import annotations

from pathlib import Path

from mlrecipes.errors import ConfigError

RECIPE_FILE = "recipe.yaml"


def profile_path(profile: str) -> str:
    return f"profiles/{profile}.yaml"


def find_recipe_root(start: Path | None = None) -> Path:
    """The nearest ancestor of ``start`` (default: CWD) holding a recipe.yaml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / RECIPE_FILE).is_file():
            return candidate
    raise ConfigError(f"no {RECIPE_FILE} found in {here} or any parent directory")
