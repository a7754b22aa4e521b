"""``mlrecipes serve`` and ``mlrecipes ui``: MLflow's scoring server and UI for one profile,
started from this installation's Python (so ``uvicorn`` and the rest of the environment are
found without an activated venv), pointed at the profile's tracking store and registry.

The commands are MLflow's own (``mlflow models serve``, ``mlflow server``); what this adds is
which model and which store, decided the way the rest of the loop decides them: by default
``serve`` serves what batch scoring would use (the champion, under the same policy), pinned to
its version, and ``ui`` writes nothing into the recipe (its working folder is the execution
directory's).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrecipes.errors import DeploymentError

if TYPE_CHECKING:
    from mlrecipes.recipe import Recipe


@dataclass(frozen=True)
class MlflowCommand:
    """A command line of this installation's MLflow, with its environment and folder."""

    args: list[str]
    env: dict[str, str]
    cwd: Path
    says: str  # what it serves, for the person who started it

    def exec(self) -> None:
        """Become the command (signals and the exit status are MLflow's own)."""
        self.cwd.mkdir(parents=True, exist_ok=True)
        os.chdir(self.cwd)
        os.execve(self.args[0], self.args, self.env)


def _environment(recipe: Recipe) -> dict[str, str]:
    """The caller's environment, this Python's bin folder first on PATH (MLflow starts
    ``uvicorn`` by name), and the profile's stores (with their credentials: an environment,
    unlike a command line, is not readable by other users)."""
    from mlrecipes.config.tracking import resolve_tracking

    settings = resolve_tracking(recipe._load())
    python_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": os.pathsep.join([python_bin, os.environ.get("PATH", "")]),
        "MLFLOW_TRACKING_URI": settings.connect_tracking_uri,
        "MLFLOW_REGISTRY_URI": settings.connect_registry_uri,
    }


def served_version(recipe: Recipe, alias: str | None, version: int | None) -> tuple[str, str]:
    """(name, version) to serve: ``version``, else the version ``alias`` points at, else what
    batch scoring would use now (the champion, under the recipe's scoring policy)."""
    from mlrecipes.config.tracking import resolve_tracking
    from mlrecipes.steps.deploy import scoring_policy
    from mlrecipes.tracking.client import Tracker
    from mlrecipes.tracking.models import resolve_scoring_model
    from mlrecipes.tracking.settings import engine_environment

    loaded = recipe._load()
    name = loaded.config.model_name or ""
    with engine_environment():
        tracker = Tracker(resolve_tracking(loaded))
        if version is not None:
            return name, str(tracker.version(name, str(version)).version)
        if alias is not None:
            aliases = tracker.aliases(name)
            if alias not in aliases:
                known = ", ".join(f"@{a}" for a in sorted(aliases)) or "none"
                raise DeploymentError(f"{name} has no alias @{alias} (its aliases: {known})")
            return name, aliases[alias]
        resolved = resolve_scoring_model(
            tracker, None, name, loaded.config.steps.register.alias, scoring_policy(loaded.config)
        )
        return name, str(resolved.version)


def serve_command(
    recipe: Recipe, alias: str | None, version: int | None, host: str, port: int
) -> MlflowCommand:
    name, pinned = served_version(recipe, alias, version)
    chosen = f"@{alias}" if alias else ("by version" if version else "what batch scoring uses")
    args = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{name}/{pinned}",
        "--env-manager", "local", "-h", host, "-p", str(port),
    ]  # fmt: skip
    return MlflowCommand(
        args,
        _environment(recipe),
        recipe.workspace.path,
        f"serving {name} v{pinned} ({chosen}) at http://{host}:{port}/invocations",
    )


def ui_command(recipe: Recipe, host: str, port: int) -> MlflowCommand | str:
    """MLflow's UI on the profile's store; for a profile tracked on a server, that server's
    address (its UI is there already), as text."""
    from mlrecipes.config.redaction import redact_uri
    from mlrecipes.config.tracking import resolve_tracking

    settings = resolve_tracking(recipe._load())
    if settings.tracking_uri.startswith(("http://", "https://", "databricks")):
        return f"profile {recipe.profile} is tracked on {redact_uri(settings.tracking_uri)}: its UI is there"
    env = _environment(recipe)
    cwd = recipe.workspace.path / "ui"
    args = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", env["MLFLOW_TRACKING_URI"],
        "--registry-store-uri", env["MLFLOW_REGISTRY_URI"],
        # new experiments' artifacts (the UI creates none by itself) beside it, not in the recipe
        "--default-artifact-root", (cwd / "artifacts").as_uri(),
        "--artifacts-destination", (cwd / "artifacts").as_uri(),
        "-h", host, "-p", str(port),
    ]  # fmt: skip
    return MlflowCommand(
        args,
        env,
        cwd,
        f"MLflow UI for profile {recipe.profile} ({settings.tracking_uri}) at http://{host}:{port}",
    )
