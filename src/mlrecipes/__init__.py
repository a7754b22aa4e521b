"""mlrecipes: declarative, cached ML recipes on MLflow 3 (the successor of MLflow Recipes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrecipes._version import __version__

if TYPE_CHECKING:
    from mlrecipes.recipe import Recipe

__all__ = ["Recipe", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import mlrecipes` (and the CLI's start-up) stays cheap.
    if name == "Recipe":
        from mlrecipes.recipe import Recipe

        return Recipe
    raise AttributeError(name)
