"""Import functions from a recipe's ``steps/*.py`` and call them with clear errors.

User modules are imported as ``steps.<module>`` (as in MLflow Recipes) so that fitted objects
pickled by reference resolve again when a logged model is loaded with its ``code/steps`` copy.
Two recipes in one process (notebooks, tests) each get their own fresh ``steps`` package.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlrecipes.errors import UserCodeError

STANDARD_MODULES = ("ingest", "split", "transform", "train", "custom_metrics")


def ensure_importable(root: Path) -> None:
    """Make ``steps.*`` of this recipe importable, e.g. before unpickling a fitted pipeline that
    references user functions (the console script's sys.path does not include the recipe root)."""
    _steps_package(root)


def _steps_package(root: Path) -> types.ModuleType:
    steps_dir = str((root / "steps").resolve())
    current = sys.modules.get("steps")
    if current is not None and list(getattr(current, "__path__", [])) == [steps_dir]:
        return current
    for name in [n for n in sys.modules if n == "steps" or n.startswith("steps.")]:
        del sys.modules[name]
    package = types.ModuleType("steps")
    package.__path__ = [steps_dir]  # type: ignore[attr-defined]
    package.__file__ = None
    sys.modules["steps"] = package
    return package


def load_module(root: Path, module: str, reload: bool = True) -> types.ModuleType:
    """Import ``steps/<module>.py`` of this recipe root (re-executed so edits are picked up)."""
    path = root / "steps" / f"{module}.py"
    if not path.is_file():
        raise UserCodeError(f"steps/{module}.py: file not found in {root}")
    _steps_package(root)
    qualified = f"steps.{module}"
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


def load_function(root: Path, module: str, name: str) -> Callable[..., Any]:
    mod = load_module(root, module)
    fn = getattr(mod, name, None)
    if fn is None or not callable(fn):
        candidates = [n for n, v in vars(mod).items() if callable(v) and not n.startswith("_")]
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UserCodeError(f"steps/{module}.py: no function named '{name}'{hint}")
    return fn


def call_user_function(fn: Callable[..., Any], where: str, *args: Any) -> Any:
    """Call user code; wrap anything it raises so the message names the function and keeps the trace."""
    try:
        return fn(*args)
    except Exception as exc:
        raise UserCodeError(
            f"{where} raised {type(exc).__name__}: {exc}", traceback.format_exc()
        ) from exc


def helper_modules(root: Path) -> list[Path]:
    """steps/*.py files that are not one of the five standard modules (shared helpers)."""
    steps_dir = root / "steps"
    if not steps_dir.is_dir():
        return []
    return sorted(p for p in steps_dir.rglob("*.py") if p.stem not in STANDARD_MODULES)
