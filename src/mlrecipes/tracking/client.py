"""The Tracker: runs, metrics, artifacts, model logging and the registry, over MLflow 3."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# A tracking server that went away should fail a run within seconds, not after MLflow's default
# of 7 retries with exponential backoff (minutes). Users may set these variables themselves.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.5")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlrecipes.config.loader import LoadedRecipe
from mlrecipes.errors import TrackingError
from mlrecipes.tracking.settings import TrackingSettings, resolve_tracking

# MLflow narrates every call at INFO and warns about choices made here on purpose (cloudpickle,
# explicit signatures without input examples); keep its errors, drop the rest unless asked.
logging.getLogger("mlflow").setLevel(os.environ.get("MLRECIPES_MLFLOW_LOG_LEVEL", "ERROR"))
for _pattern in (
    "Add type hints to the `predict` method",
    "An input example was not provided",
    "Hint: Inferred schema contains integer column",
    "Saving scikit-learn models in the pickle",
):
    warnings.filterwarnings("ignore", message=f".*{_pattern}")


RECIPE_TAGS = {
    "mlflow.source.type": "RECIPE",
}


class Tracker:
    def __init__(self, settings: TrackingSettings):
        self.settings = settings
        _use_uris(settings.tracking_uri, settings.registry_uri)
        self.client = MlflowClient(settings.tracking_uri, settings.registry_uri)
        self._experiment_id: str | None = None

    @classmethod
    def for_recipe(cls, recipe: LoadedRecipe) -> Tracker:
        return cls(resolve_tracking(recipe))

    def _fail(self, what: str, exc: Exception) -> TrackingError:
        return TrackingError(
            f"MLflow at {self.settings.tracking_uri}: {what} failed: {type(exc).__name__}: {exc}"
        )

    @property
    def experiment_id(self) -> str:
        if self._experiment_id is not None:
            return self._experiment_id
        s = self.settings
        try:
            if s.experiment_id is not None:
                exp = self.client.get_experiment(s.experiment_id)
                self._experiment_id = exp.experiment_id
            else:
                exp = self.client.get_experiment_by_name(s.experiment_name or s.recipe_name)
                if exp is None:
                    self._experiment_id = self.client.create_experiment(
                        s.experiment_name or s.recipe_name, artifact_location=s.artifact_location
                    )
                else:
                    self._experiment_id = exp.experiment_id
        except MlflowException as exc:
            raise self._fail(
                f"opening experiment '{s.experiment_name or s.experiment_id}' (set experiment.name "
                "in the profile)",
                exc,
            ) from exc
        except Exception as exc:
            raise self._fail("connecting", exc) from exc
        return self._experiment_id

    def base_tags(self, step: str) -> dict[str, str]:
        s = self.settings
        tags = {
            **RECIPE_TAGS,
            "mlflow.pipeline.template.name": s.recipe_name,
            "mlflow.pipeline.profile.name": s.profile,
            "mlflow.pipeline.step.name": step,
            "mlrecipes.profile": s.profile,
            "mlrecipes.recipe_root": str(s.root),
        }
        tags.update(_git_tags(s.root))
        return tags

    @contextmanager
    def run(
        self, run_id: str | None = None, run_name: str | None = None, tags: dict | None = None
    ) -> Iterator[str]:
        """Start (or resume) a run; it ends FAILED if the body raises."""
        try:
            if run_id is not None:
                active = mlflow.start_run(run_id=run_id)
            else:
                active = mlflow.start_run(
                    experiment_id=self.experiment_id, run_name=run_name, tags=tags
                )
        except MlflowException as exc:
            raise self._fail("starting a run", exc) from exc
        except TrackingError:
            raise
        except Exception as exc:
            raise self._fail("starting a run", exc) from exc
        try:
            yield active.info.run_id
        except BaseException:
            mlflow.end_run(status="FAILED")
            raise
        else:
            mlflow.end_run(status="FINISHED")

    def terminate_if_running(self, run_id: str, status: str) -> bool:
        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            return False
        if run.info.status != "RUNNING":
            return False
        self.client.set_terminated(run_id, status=status)
        return True

    def log_child_run(self, params: dict[str, Any], metrics: dict[str, float]) -> str:
        """A nested run under the active one (a tuning trial), in the same experiment."""
        with mlflow.start_run(nested=True, experiment_id=self.experiment_id) as child:
            self.log_params(params)
            self.log_metrics(metrics)
        return child.info.run_id

    def log_params(self, params: dict[str, Any]) -> None:
        clean = {k[:250]: str(v)[:6000] for k, v in params.items()}
        if clean:
            mlflow.log_params(clean)

    def log_metrics(self, metrics: dict[str, float], model_id: str | None = None) -> None:
        """Log to the active run; with ``model_id`` the metrics also attach to that logged model."""
        clean = {k: float(v) for k, v in metrics.items() if _is_number(v)}
        if clean:
            mlflow.log_metrics(clean, model_id=model_id)

    def set_tags(self, tags: dict[str, Any]) -> None:
        mlflow.set_tags({k: str(v) for k, v in tags.items()})

    def log_text(self, text: str, artifact_file: str) -> None:
        mlflow.log_text(text, artifact_file)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        mlflow.log_artifact(str(path), artifact_path)

    def log_artifacts(self, path: Path, artifact_path: str | None = None) -> None:
        mlflow.log_artifacts(str(path), artifact_path)

    def set_experiment_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_experiment_tag(self.experiment_id, key, value)

    def log_pyfunc_model(
        self,
        python_model: Any,
        name: str,
        signature: Any,
        code_paths: list[str],
        pip_requirements: list[str],
    ) -> tuple[str, str]:
        """Log a pyfunc model (a LoggedModel in MLflow 3); return (model_uri, model_id)."""
        with warnings.catch_warnings():
            # MLflow re-enables its own advice (type hints, input examples) inside log_model.
            warnings.simplefilter("ignore", UserWarning)
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=python_model,
                signature=signature,
                code_paths=code_paths,
                pip_requirements=pip_requirements,
            )
        return info.model_uri, info.model_id

    def register(self, model_uri: str, name: str, tags: dict[str, str]) -> str:
        try:
            version = mlflow.register_model(model_uri, name, tags=tags, await_registration_for=300)
        except MlflowException as exc:
            raise self._fail(f"registering {model_uri} as '{name}'", exc) from exc
        return str(version.version)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def delete_version(self, name: str, version: str) -> None:
        self.client.delete_model_version(name, version)

    def get_alias_version(self, name: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    def search_runs(
        self, order_by: list[str], max_results: int = 100, filter_string: str = ""
    ) -> Any:
        """Runs of this recipe's experiment as a DataFrame (MLflow's search syntax)."""
        return mlflow.search_runs(
            experiment_ids=[self.experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
        )


def _use_uris(tracking_uri: str, registry_uri: str) -> None:
    """Point MLflow's fluent API at these stores without touching the environment.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI``; in a notebook that would make
    the next ``Recipe(profile=...)`` whose profile reads ``env("MLFLOW_TRACKING_URI")`` silently
    use the previous profile's store.
    """
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(registry_uri)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _is_number(value: Any) -> bool:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return False
    return f == f


def _git_tags(root: Path) -> dict[str, str]:
    """Commit and branch of the recipe's repository, read from .git without running git."""
    git = next((p / ".git" for p in (root, *root.parents) if (p / ".git").exists()), None)
    if git is None or not git.is_dir():
        return {}
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            ref_file = git / ref
            commit = ref_file.read_text().strip() if ref_file.exists() else ""
            if not commit and (git / "packed-refs").exists():
                for line in (git / "packed-refs").read_text().splitlines():
                    if line.endswith(" " + ref):
                        commit = line.split()[0]
            tags = {"mlflow.source.git.branch": ref.removeprefix("refs/heads/")}
        else:
            commit, tags = head, {}
        if commit:
            tags["mlflow.source.git.commit"] = commit
        return tags
    except OSError:
        return {}
