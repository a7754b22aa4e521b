"""Recipe configuration: templating, merging and the typed schema.

Exports resolve lazily, so ``mlrecipes.config.paths`` can be imported without pydantic.
"""

from __future__ import annotations

from typing import Any

# load_recipe here takes the schema; mlrecipes.execution.context.load_recipe binds the steps' one
__all__ = ["LoadedRecipe", "RecipeConfig", "find_recipe_root", "load_recipe", "parse_var_overrides"]


def __getattr__(name: str) -> Any:
    if name == "RecipeConfig":
        from mlrecipes.config.schema import RecipeConfig

        return RecipeConfig
    if name == "find_recipe_root":
        from mlrecipes.config.paths import find_recipe_root

        return find_recipe_root
    if name in __all__:
        from mlrecipes.config import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'mlrecipes.config' has no attribute {name!r}")
