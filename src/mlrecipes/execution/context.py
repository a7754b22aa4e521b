"""What execution binds together before a step runs: the complete recipe schema (the config's
blocks plus the steps section assembled from the step declarations) and the loaded recipe.

Config knows no step and steps know no execution; this is the one place that joins them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrecipes.config import schema
from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.config.loader import load_recipe as _load_with_schema
from mlrecipes.execution.declarations import steps_model


def recipe_schema() -> type[schema.RecipeConfig]:
    """The recipe schema with the declared steps (cached per set of step classes)."""
    return schema.with_steps(steps_model())


def load_recipe(
    root: Path, profile: str, overrides: dict[str, Any] | None = None, strict: bool = False
) -> LoadedRecipe:
    """``recipe.yaml`` + ``profiles/<profile>.yaml`` (+ ``--var`` overrides), validated
    (``strict``: keys MLflow Recipes ignored are errors too, not warnings)."""
    return _load_with_schema(root, profile, overrides, schema=recipe_schema(), strict=strict)


def __getattr__(name: str) -> Any:
    # ``from mlrecipes.execution.context import RecipeConfig``: the complete schema, for code that
    # validates a recipe dict itself (lazy: building it imports every step module)
    # (the base class is reached as ``schema.RecipeConfig``, so this name is never shadowed)
    if name == "RecipeConfig":
        return recipe_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
