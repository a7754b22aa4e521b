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


class StepInterrupted(StepError):
    """A step ended by SIGTERM or SIGINT; the process should exit with ``exit_code``."""

    def __init__(self, step: str, cause: Interrupted):
        super().__init__(step, str(cause))
        self.exit_code = cause.exit_code


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


class AccessDeniedError(TrackingError):
    """The tracking server refused the current identity."""


class MissingArtifactError(MlrecipesError):
    """A run the tracking server answered for has no artifact at that path (unlike a
    :class:`TrackingError`, the server was reached)."""


class ArtifactError(MlrecipesError):
    """An unknown artifact name was asked for."""


class FeatureTableError(DatasetError):
    """A feature table that does not exist, or a write that does not fit it."""


class DeploymentError(MlrecipesError):
    """An approval, rejection or rollback that cannot be done as asked."""


class DemoError(MlrecipesError):
    """A command of the demo's story failed."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived while a step ran (a BaseException, like KeyboardInterrupt, so
    user code's ``except Exception`` cannot swallow it). The step ends as FAILED, its MLflow run
    KILLED, its temporary outputs removed."""

    def __init__(self, signal_name: str):
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        import signal

        return 128 + int(getattr(signal, self.signal_name, signal.SIGTERM))


class StepTimeout(BaseException):
    """A step ran past its ``timeout``."""

    def __init__(self, seconds: float):
        super().__init__(f"exceeded its timeout of {seconds:g} s (steps.<step>.timeout)")
        self.seconds = seconds
