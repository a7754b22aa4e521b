"""The pip requirements of a logged model: pinned, and found without MLflow's inference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_ALWAYS = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")
_KNOWN_ROOTS = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
}
# the recipe's own code travels in the model's code/ folder; the rest ships with Python
_NOT_DISTRIBUTIONS = {"steps", "builtins", "__main__", "mlrecipes"}


def model_pip_requirements(model: object) -> list[str]:
    """Pinned requirements: the core set plus the distributions of every class inside ``model``.

    Explicit requirements avoid MLflow's slow, subprocess-based inference (which also picks up
    test tooling that happens to be imported).
    """
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    roots = {type(obj).__module__.split(".")[0] for obj in _walk(model)} - _NOT_DISTRIBUTIONS
    names = set(_ALWAYS)
    unknown = {root for root in roots if root not in _KNOWN_ROOTS}
    names.update(_KNOWN_ROOTS[root] for root in roots if root in _KNOWN_ROOTS)
    if unknown:  # scanning every installed distribution costs ~0.5 s: only when needed
        dist_map = packages_distributions()
        for root in unknown:
            names.update(dist_map.get(root, []))
    pins = []
    for name in sorted(names, key=str.lower):
        if name.lower() in ("mlrecipes",):
            continue
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _walk(obj: object, depth: int = 0) -> list[object]:
    found = [obj]
    if depth > 6 or not hasattr(obj, "get_params"):
        return found
    try:
        params = obj.get_params(deep=False)
    except (AttributeError, TypeError):  # a get_params that is not scikit-learn's
        return found
    for value in params.values():
        if isinstance(value, list | tuple):
            for item in value:
                candidate = item[-1] if isinstance(item, tuple) and item else item
                if hasattr(candidate, "get_params"):
                    found.extend(_walk(candidate, depth + 1))
        elif hasattr(value, "get_params"):
            found.extend(_walk(value, depth + 1))
    return found


@contextmanager
def pins_from_this_environment() -> Iterator[None]:
    """While a model with ``model_pip_requirements`` is saved or logged: MLflow checks every
    explicit requirement against the environment, and to do so first maps every installed
    distribution to its modules (``packages_distributions``: 0.74 s of an 8.4 s cold run in this
    project's environment, measured; once per process). These pins are read from the installed
    versions, so the check cannot find a mismatch. MLflow's map starts empty for the block (its
    version lookup goes by distribution name; the map is only a fallback module name) and is
    put back as it was, so nothing else in the process sees the change."""
    from mlflow.utils import requirements_utils

    if requirements_utils._MODULES_TO_PACKAGES is not None:  # already scanned: nothing to save
        yield
        return
    requirements_utils._MODULES_TO_PACKAGES = {}
    try:
        yield
    finally:
        requirements_utils._MODULES_TO_PACKAGES = None
        requirements_utils._PACKAGES_TO_MODULES = None
