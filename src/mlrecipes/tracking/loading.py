"""Loading a logged or registered model as a pyfunc (its own module: the tracker and the model
helpers both load models, and neither imports the other for it)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc


def load_pyfunc(uri_or_path: str | Path) -> mlflow.pyfunc.PyFuncModel:
    import warnings

    with warnings.catch_warnings():
        # Unpickling the recipe model re-creates its class, and MLflow advises type hints again.
        warnings.simplefilter("ignore", UserWarning)
        return mlflow.pyfunc.load_model(str(uri_or_path))


def load_sklearn(path: Path) -> object:
    """The scikit-learn flavor of a model folder (the fitted pipeline itself)."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(str(path))
