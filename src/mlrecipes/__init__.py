"""mlrecipes: declarative, cached ML recipes on MLflow 3 (the successor of MLflow Recipes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mlrecipes.recipe import Recipe

__all__ = ["Recipe", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import mlrecipes` (and the CLI's start-up) stays cheap.
    if name == "Recipe":
        from mlrecipes.recipe import Recipe

        return Recipe
    raise AttributeError(name)
