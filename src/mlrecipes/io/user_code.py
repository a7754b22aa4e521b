"""Import functions from a recipe's ``steps/*.py`` and call them with clear errors.

Each recipe's modules live in a package of their own, ``mlrecipes_recipe_<hash of the steps
folder>``, so two recipes in one process (notebooks, tests) never see each other's code and a
user's own ``steps`` package is never replaced. For MLflow Recipes-style imports between user
modules (``from steps.helpers import f``), ``steps`` also names the current recipe's folder,
unless something else already owns that name.

Fitted objects that reference user functions (a ``FunctionTransformer`` over a function in
``steps/transform.py``) are pickled *by value* (:func:`pickled_by_value`), so a logged model
loads anywhere without importing the recipe's package under any name.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.config.suggestions import did_you_mean
from mlrecipes.errors import UserCodeError

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig

_ALIAS_MARK = "__mlrecipes_recipe_steps__"


def package_name(root: Path) -> str:
    steps_dir = str((root / "steps").resolve())
    return "mlrecipes_recipe_" + hashlib.sha256(steps_dir.encode()).hexdigest()[:12]


def ensure_importable(root: Path) -> None:
    """Make this recipe's package importable (and ``steps`` an alias of it where free)."""
    _steps_package(root)


def _steps_package(root: Path) -> types.ModuleType:
    name = package_name(root)
    package = sys.modules.get(name)
    if package is None:
        package = types.ModuleType(name)
        package.__path__ = [str((root / "steps").resolve())]  # type: ignore[attr-defined]
        package.__file__ = None
        setattr(package, _ALIAS_MARK, True)
        sys.modules[name] = package
    current = sys.modules.get("steps")
    if current is None or (getattr(current, _ALIAS_MARK, False) and current is not package):
        for alias in [n for n in sys.modules if n == "steps" or n.startswith("steps.")]:
            del sys.modules[alias]
        sys.modules["steps"] = package
    return package


def load_module(root: Path, module: str, reload: bool = True) -> types.ModuleType:
    """Import ``steps/<module>.py`` of this recipe root (re-executed so edits are picked up)."""
    path = root / "steps" / f"{module}.py"
    if not path.is_file():
        raise UserCodeError(f"steps/{module}.py: file not found in {root}")
    package = _steps_package(root)
    qualified = f"{package.__name__}.{module}"
    if not reload and qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        del sys.modules[qualified]
        raise UserCodeError(
            f"steps/{module}.py: importing the module raised {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        ) from exc
    return mod


@contextlib.contextmanager
def pickled_by_value(root: Path, picklers: tuple[Any, ...] = ()) -> Iterator[None]:
    """While the body pickles, this recipe's loaded modules are pickled by value (cloudpickle,
    and ``picklers`` such as PySpark's vendored copy): the pickle then holds the user functions
    themselves, not a module name to import."""
    import cloudpickle

    prefix = package_name(root) + "."
    modules = [m for n, m in list(sys.modules.items()) if n.startswith(prefix)]
    registered = []
    try:
        for pickler in (cloudpickle, *picklers):
            for module in modules:
                pickler.register_pickle_by_value(module)
                registered.append((pickler, module))
        yield
    finally:
        for pickler, module in registered:
            with contextlib.suppress(ValueError):
                pickler.unregister_pickle_by_value(module)


def load_function(root: Path, module: str, name: str) -> Callable[..., Any]:
    mod = load_module(root, module)
    fn = getattr(mod, name, None)
    if fn is None or not callable(fn):
        candidates = [n for n, v in vars(mod).items() if callable(v) and not n.startswith("_")]
        hint = did_you_mean(name, candidates)
        raise UserCodeError(f"steps/{module}.py: no function named '{name}'{hint}")
    return fn


def call_user_function(fn: Callable[..., Any], where: str, *args: Any) -> Any:
    """Call user code; wrap anything it raises so the message names the function and keeps the trace.

    DataFrames, Series and arrays are passed as copies: user code may mutate what it is given
    (``df.drop(columns=..., inplace=True)`` in a transformer called twice) without changing what
    the engine holds, as MLflow Recipes, which read each input afresh, allowed.
    """
    args = tuple(_own_copy(arg) for arg in args)
    try:
        return fn(*args)
    except Exception as exc:
        raise UserCodeError(
            f"{where} raised {type(exc).__name__}: {exc}", traceback.format_exc()
        ) from exc


def _own_copy(value: Any) -> Any:
    module = type(value).__module__
    if module.startswith("pandas.") and hasattr(value, "copy"):
        return value.copy(deep=True)
    if module == "numpy" and hasattr(value, "copy"):
        return value.copy()
    return value


def helper_modules(root: Path, step_modules: set[str]) -> list[Path]:
    """steps/*.py files that are not a step's own module (``Step.user_code_modules``): shared
    helpers, whose source is part of every user-code step's cache key."""
    steps_dir = root / "steps"
    if not steps_dir.is_dir():
        return []
    return sorted(p for p in steps_dir.rglob("*.py") if p.stem not in step_modules)


def custom_metric_functions(root: Path, config: RecipeConfig) -> dict[str, Any]:
    """The recipe's ``custom_metrics`` functions from ``steps/custom_metrics.py``, by name."""
    return {
        m.name: load_function(root, "custom_metrics", m.function) for m in config.custom_metrics
    }
