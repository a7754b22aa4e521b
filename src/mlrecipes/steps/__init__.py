"""The steps, discovered from their modules: every public module of this package defines one
:class:`~mlrecipes.steps.base.Step` subclass (modules starting with ``_`` hold a step's private
helpers). Adding a step is adding a module; the schema, DAG, ``inspect`` and ``get_artifact``
read the declarations.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from typing import Any

from mlrecipes.steps.base import Output, Step

_NOT_STEPS = {"base"}


@functools.cache
def step_classes() -> dict[str, type[Step]]:
    """Step name -> class, in a stable order (the module names'; the DAG orders execution)."""
    from mlrecipes.errors import RecipeGraphError

    found: dict[str, type[Step]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in _NOT_STEPS or info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        classes = [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, Step)
            and value.__module__ == module.__name__
            and not inspect.isabstract(value)
        ]
        if len(classes) != 1:
            raise RecipeGraphError(
                f"mlrecipes/steps/{info.name}.py must define exactly one Step subclass, found "
                f"{[c.__name__ for c in classes]} (helpers go in modules starting with '_')"
            )
        cls = classes[0]
        if cls.name in found:
            raise RecipeGraphError(f"two modules define a step named '{cls.name}'")
        found[cls.name] = cls
    return found


def __getattr__(name: str) -> Any:
    if name == "STEP_CLASSES":
        return step_classes()
    raise AttributeError(f"module 'mlrecipes.steps' has no attribute {name!r}")


__all__ = ["Output", "Step", "step_classes"]
