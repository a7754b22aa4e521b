"""The Tracker: runs, metrics, artifacts, model logging and the registry, over MLflow 3.

Each Tracker talks to its own stores through its own ``MlflowClient`` with explicit run ids, so two
recipes (or two profiles) in one process never write to each other's store. MLflow's fluent API
keeps process-wide URIs and an active-run stack; the few calls that exist only in fluent form
(logging and loading a model, ``search_runs`` as a DataFrame) run inside :func:`scoped_uris`, which
puts the previous URIs back afterwards. Nothing here changes process state at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlrecipes.config.redaction import redact
from mlrecipes.config.tracking import TrackingSettings
from mlrecipes.errors import Interrupted, MissingArtifactError, MlrecipesError, TrackingError
from mlrecipes.tracking.guard import GuardedClient
from mlrecipes.tracking.registry import RegistryCalls
from mlrecipes.tracking.uris import run_links_hidden, scoped_uris

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.pyfunc import PyFuncModel, PythonModel
    from pyspark.sql import Column, SparkSession

    from mlrecipes.deployment.audit import Decider


RECIPE_TAGS = {
    "mlflow.source.type": "RECIPE",
}


class Tracker(RegistryCalls):
    def __init__(self, settings: TrackingSettings):
        self.settings = settings
        self.client: Any = GuardedClient(
            MlflowClient(settings.connect_tracking_uri, settings.connect_registry_uri),
            settings.tracking_uri,
            settings.experiment_name or settings.recipe_name,
            settings.connect_tracking_uri,
        )
        self._experiment_id: str | None = None
        self._runs: list[str] = []  # this tracker's open runs, innermost last
        self._decider: Decider | None = None

    def decider(self) -> Decider:
        """Who is deciding, as the registry authenticates them (asked once per tracker)."""
        if self._decider is None:
            from mlrecipes.tracking.identity import current_decider

            self._decider = current_decider(self.settings.connect_registry_uri)
        return self._decider

    def for_experiment(self, name: str) -> Tracker:
        """A tracker on the same stores, logging to experiment ``name`` (created when missing)."""
        import dataclasses

        return Tracker(dataclasses.replace(self.settings, experiment_name=name, experiment_id=None))

    def scoped(self) -> AbstractContextManager[None]:
        return scoped_uris(self.settings.connect_tracking_uri, self.settings.connect_registry_uri)

    def _fail(self, what: str, exc: Exception) -> TrackingError:
        # MLflow's own messages quote the request URL, userinfo included
        return TrackingError(
            redact(
                f"MLflow at {self.settings.tracking_uri}: {what} failed: "
                f"{type(exc).__name__}: {exc}"
            )
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
        except TrackingError:
            raise
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

    @property
    def run_id(self) -> str:
        if not self._runs:
            raise RuntimeError("no MLflow run is open on this tracker")
        return self._runs[-1]

    @contextmanager
    def run(
        self, run_id: str | None = None, run_name: str | None = None, tags: dict | None = None
    ) -> Iterator[str]:
        """Start a run, or resume one that an earlier step created.

        A run started here ends FINISHED, FAILED when the body raises, or KILLED when the
        process is interrupted. A resumed run keeps the status it had: evaluate failing after
        train must not turn train's finished run into a failed one.
        """
        try:
            if run_id is None:
                created = self.client.create_run(
                    self.experiment_id,
                    run_name=run_name,
                    tags={k: str(v) for k, v in (tags or {}).items()},
                )
                current, owned = created.info.run_id, True
            else:
                self.client.get_run(run_id)
                current, owned = run_id, False
        except TrackingError:
            raise
        except Exception as exc:
            raise self._fail("starting a run", exc) from exc
        self._runs.append(current)
        try:
            yield current
        except BaseException as exc:
            if owned:
                status = "KILLED" if isinstance(exc, Interrupted | KeyboardInterrupt) else "FAILED"
                _quietly(self._end, current, status)
            raise
        else:
            if owned:
                self._end(current, "FINISHED")
        finally:
            self._runs.pop()

    def _end(self, run_id: str, status: str) -> None:
        # MLflow prints "View run ... at: <the store URI>" on stdout, userinfo included
        with run_links_hidden(self.settings.credentials_in_uri):
            self.client.set_terminated(run_id, status)

    def terminate_if_running(self, run_id: str, status: str) -> bool:
        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            return False
        if run.info.status != "RUNNING":
            return False
        try:
            self._end(run_id, status)
        except MlflowException as exc:
            raise self._fail(f"marking run {run_id} {status}", exc) from exc
        return True

    def log_child_run(self, params: dict[str, Any], metrics: dict[str, float]) -> str:
        """A nested run under the open one (a tuning trial), in the same experiment."""
        parent = self.run_id
        child = self.client.create_run(self.experiment_id, tags={"mlflow.parentRunId": parent})
        child_id = child.info.run_id
        self._runs.append(child_id)
        try:
            self.log_params(params)
            self.log_metrics(metrics)
        finally:
            self._runs.pop()
        self._end(child_id, "FINISHED")
        return child_id

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        clean = [Param(k[:250], redact(str(v))[:6000]) for k, v in params.items()]
        if clean:
            self.client.log_batch(self.run_id, params=clean)

    def log_metrics(self, metrics: dict[str, float], model_id: str | None = None) -> None:
        """Log to the open run; with ``model_id`` the metrics also attach to that logged model."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        clean = [
            Metric(k, float(v), now, 0, model_id=model_id)
            for k, v in metrics.items()
            if _is_number(v)
        ]
        if clean:
            self.client.log_batch(self.run_id, metrics=clean)

    def set_tags(self, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        if tags:
            rows = [RunTag(k, redact(str(v))) for k, v in tags.items()]
            self.client.log_batch(self.run_id, tags=rows)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, redact(text), artifact_file)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_artifacts(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(path), artifact_path)

    def set_experiment_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_experiment_tag(self.experiment_id, key, value)

    def log_pyfunc_model(
        self,
        python_model: PythonModel,
        name: str,
        signature: ModelSignature,
        code_paths: list[str],
        pip_requirements: list[str],
        artifacts: dict[str, str] | None = None,
    ) -> tuple[str, str]:
        """Log a pyfunc model (a LoggedModel in MLflow 3) to the open run; (model_uri, model_id)."""
        import warnings

        import mlflow.pyfunc
        from mlflow.models import Model

        run_id = self.run_id
        # Created here, in this recipe's experiment: left to MLflow, the LoggedModel would go to
        # the fluent API's current experiment (the default one, artifacts under ./mlruns).
        logged = self.client.create_logged_model(
            experiment_id=self.experiment_id,
            name=name,
            source_run_id=run_id,
            params=dict(self.client.get_run(run_id).data.params),
        )
        with warnings.catch_warnings(), self.scoped():
            # MLflow re-enables its own advice (type hints, input examples) inside log_model.
            warnings.simplefilter("ignore", UserWarning)
            info = Model.log(
                artifact_path=None,
                name=name,
                flavor=mlflow.pyfunc,
                run_id=run_id,
                model_id=logged.model_id,
                python_model=python_model,
                signature=signature,
                code_paths=code_paths,
                pip_requirements=pip_requirements,
                artifacts=artifacts or None,
            )
        return info.model_uri, info.model_id

    def load_model(self, uri: str) -> PyFuncModel:
        """A pyfunc model by URI (``models:/name@alias``, ``runs:/``) from this tracker's stores."""
        from mlrecipes.tracking.loading import load_pyfunc

        with self.scoped():
            return load_pyfunc(uri)

    def spark_udf(
        self, spark: SparkSession, model_uri: str, result_type: str
    ) -> Callable[..., Column]:
        """The model as a Spark UDF, run in the executors' own Python (no per-run virtualenv)."""
        import mlflow.pyfunc

        with self.scoped():
            return mlflow.pyfunc.spark_udf(
                spark, model_uri, result_type=result_type, env_manager="local"
            )

    def download_run_artifact(self, run_id: str, path: str, dst: Path) -> Path:
        """A run's artifact file, downloaded into ``dst``.

        :class:`MissingArtifactError` when the server answered and the run has no such file;
        :class:`TrackingError` when the server could not be reached or refused (never mistaken
        for a missing artifact: "retrain it" is the wrong advice for a server that is down).
        """
        parent = path.rpartition("/")[0] or None
        try:
            listed = {a.path for a in self.client.list_artifacts(run_id, parent)}
        except (MlflowException, OSError) as exc:
            raise self._fail(f"listing the artifacts of run {run_id}", exc) from exc
        if path not in listed:
            raise MissingArtifactError(f"run {run_id} has no artifact {path}")
        try:
            local = self.client.download_artifacts(run_id, path, str(dst))
        except (MlflowException, OSError) as exc:
            raise self._fail(f"downloading {path} of run {run_id}", exc) from exc
        return Path(local)

    def version_exists(self, name: str, version: str) -> bool:
        try:
            self.client.get_model_version(name, version)
        except MlflowException:
            return False
        return True

    def search_runs(
        self, order_by: list[str], max_results: int = 100, filter_string: str = ""
    ) -> pd.DataFrame:
        """Runs of this recipe's experiment as a DataFrame (MLflow's search syntax)."""
        try:
            with self.scoped():
                return mlflow.search_runs(
                    experiment_ids=[self.experiment_id],
                    filter_string=filter_string,
                    order_by=order_by,
                    max_results=max_results,
                )
        except (MlflowException, OSError) as exc:
            raise self._fail(f"searching runs ({filter_string or 'all'})", exc) from exc


def _quietly(fn: Callable[..., object], *args: object) -> None:
    """Best effort on a failure path: the original error matters more than this one."""
    with suppress(MlflowException, MlrecipesError, OSError):
        fn(*args)


def _is_number(value: object) -> bool:
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
