"""The steps' declarations, discovered from the modules of ``mlrecipes.steps``, and what is
assembled from them: the schema's steps section (:func:`steps_model`). The DAG, the artifact
names, ``inspect`` and ``get_artifact`` read :func:`step_classes` too.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import warnings
from typing import Any

from pydantic import Field, create_model, model_validator

import mlrecipes.steps as steps_package
from mlrecipes.config.blocks import Block
from mlrecipes.steps.base import Step

_NOT_STEPS = {"base"}


@functools.cache
def step_classes() -> dict[str, type[Step]]:
    """Step name -> class, in a stable order (the module names'; the DAG orders execution)."""
    from mlrecipes.errors import RecipeGraphError

    found: dict[str, type[Step]] = {}
    for info in sorted(pkgutil.iter_modules(steps_package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in _NOT_STEPS or info.ispkg:
            continue
        module = importlib.import_module(f"{steps_package.__name__}.{info.name}")
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


class _StepsBase(Block):
    @model_validator(mode="before")
    @classmethod
    def _null_blocks_mean_defaults(cls, data: Any) -> Any:
        # A block with only comments under it is YAML null; MLflow Recipes crashed on some of these.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def steps_model() -> type[Block]:
    """The schema's ``steps`` section: one optional field per declared step, ``None`` when the
    step's block is required to run it (ingest, train, predict), else its defaults."""
    return _steps_model_of(tuple(step_classes().items()))


@functools.cache
def _steps_model_of(classes: tuple[tuple[str, type[Step]], ...]) -> type[Block]:
    fields: dict[str, Any] = {}
    for name, cls in classes:
        model = cls.config_model
        if cls.config_required:
            fields[name] = (model | None, None)
        else:
            fields[name] = (model, Field(default_factory=model))
    # pydantic warns that "register" shadows BaseModel.register; the key is MLflow Recipes'.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message='Field name "register" in "StepsConfig"')
        return create_model("StepsConfig", __base__=_StepsBase, **fields)


def __getattr__(name: str) -> Any:
    if name == "StepsConfig":  # lazy: building it imports every step module
        return steps_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["step_classes", "steps_model"]  # and StepsConfig, built lazily
