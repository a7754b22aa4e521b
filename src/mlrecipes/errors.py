"""The one exception family of mlrecipes.

Every error that leaves the package is an :class:`MlrecipesError`; the CLI prints its message on one
line and exits 1. Messages name the file, key, column or step at fault and what was expected.
"""

from __future__ import annotations


class MlrecipesError(Exception):
    """Root of all errors raised by mlrecipes."""


class ConfigError(MlrecipesError):
    """recipe.yaml / profile problems: YAML syntax, templating, unknown keys, wrong types."""


class RecipeGraphError(MlrecipesError):
    """Unknown step names and other problems with the step graph."""


class DatasetError(MlrecipesError):
    """Data that cannot be read, is empty, or lacks required columns."""


class StepError(MlrecipesError):
    """A step failed; carries the step name and, when user code raised, its traceback."""

    def __init__(self, step: str, message: str, traceback_text: str | None = None):
        super().__init__(f"step '{step}' failed: {message}")
        self.step = step
        self.reason = message
        self.traceback_text = traceback_text


class UserCodeError(MlrecipesError):
    """A function in steps/*.py is missing, has the wrong shape, or raised."""

    def __init__(self, message: str, traceback_text: str | None = None):
        super().__init__(message)
        self.traceback_text = traceback_text


class ValidationFailedError(MlrecipesError):
    """The model did not meet the recipe's validation criteria."""


class CacheError(MlrecipesError):
    """The execution directory is locked or unreadable."""


class TrackingError(MlrecipesError):
    """MLflow tracking or registry could not be reached or refused a call."""


class ArtifactError(MlrecipesError):
    """An unknown artifact name was asked for."""
