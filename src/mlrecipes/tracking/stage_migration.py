"""``mlrecipes migrate registry``: an MLflow 2 registry's stages carried over to aliases.

The moves themselves are decided by :func:`mlrecipes.deployment.stages.plan` (pure); this module
reads the registry, carries the moves out and prints them. Per move, in an order a kill cannot
turn into a lie:

1. a version MLflow 3 cannot load (an MLflow Recipes pyfunc, whose pickle names
   ``mlflow.recipes``), or any version when copying to another store, is re-logged in a new run
   (with the rows it trained on, when given) and registered with the tags that say where it
   came from, in the same call; a kill before leaves at most an unregistered run;
2. the alias moves (``champion`` through deploy's journal, so ``mlrecipes champion`` lists the
   migration); a kill before it leaves a tagged copy that the next run finds and finishes.

A SQLite source is read from a copy when nothing may change in it (``--dry-run``, or copying to
``--to-uri``): MLflow 3 upgrades a SQLite store's schema as soon as it opens it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlrecipes.config.redaction import redact_uri
from mlrecipes.config.tracking import TrackingSettings
from mlrecipes.deployment.stages import (
    MIGRATED_STAGE_TAG,
    MIGRATED_STORE_TAG,
    MIGRATED_TO_TAG,
    MIGRATED_VERSION_TAG,
    Move,
    VersionFacts,
    plan,
)
from mlrecipes.errors import DatasetError, TrackingError
from mlrecipes.process.faults import fault_point
from mlrecipes.tracking.client import Tracker
from mlrecipes.tracking.settings import sqlite_path

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion

    from mlrecipes.tracking.recipes2_model import RecipesTwoModel

TRAINING_ROWS_ARTIFACT = "train/training_rows.npz"  # where deploy looks (steps/train.py)


@dataclass(frozen=True)
class Migration:
    from_uri: str
    to_uri: str | None
    stage_aliases: dict[str, str]
    models: tuple[str, ...] = ()
    dry_run: bool = False
    training_data: dict[str, Path] = field(default_factory=dict)  # model -> table it trained on
    key_columns: tuple[str, ...] = ()

    @property
    def store(self) -> str:
        return redact_uri(self.from_uri)


def migrate_registry(job: Migration, say: Callable[[str], None]) -> list[Move]:
    """Plan, print, and (unless a dry run) carry out the moves; returns them as planned."""
    from mlrecipes.tracking.settings import engine_environment

    with engine_environment():
        return _migrate(job, say)


def _migrate(job: Migration, say: Callable[[str], None]) -> list[Move]:
    copying = job.to_uri is not None and job.to_uri != job.from_uri
    with _readable(job.from_uri, keep_intact=job.dry_run or copying) as read_uri:
        source = MlflowClient(read_uri, read_uri)
        names = _model_names(source, job)
        unknown = sorted(set(job.training_data) - set(names))
        if unknown:
            raise TrackingError(
                f"--training-data names {', '.join(unknown)}, not a migrated model of "
                f"{job.store} (its models: {', '.join(names) or 'none'})"
            )
        versions = [f for name in names for f in _facts(source, name)]
        # the dry run reads the copy; a store to copy into that does not exist yet is empty
        # (and a dry run does not create it: opening a SQLite store makes the file)
        target_uri = job.to_uri if job.to_uri and copying else read_uri
        fresh = copying and _missing_sqlite(target_uri)
        target = None if fresh and job.dry_run else Tracker(_settings(target_uri, None))
        there, aliases = _target_facts(target, names, copying, fresh)
        moves = plan(versions, job.stage_aliases, job.store, there, aliases)
        for move in moves:
            say(("would " if job.dry_run and not move.done else "") + move.describe())
        if not moves:
            say(f"no version of {', '.join(names) or 'any model'} is in a stage to migrate")
        if job.dry_run:
            return moves
        for path in job.training_data.values():  # refused here, before the first write
            missing = [c for c in job.key_columns if c not in _read_table(path).columns]
            if missing:
                raise DatasetError(f"--training-data {path}: no column {missing[0]!r} (--key)")
        assert target is not None
        for name in sorted({m.model for m in moves if not m.done}):
            _migrate_model(job, name, source, read_uri, target, copying, say)
    return moves


def _migrate_model(
    job: Migration,
    name: str,
    source: MlflowClient,
    read_uri: str,
    target: Tracker,
    copying: bool,
    say: Callable[[str], None],
) -> None:
    """One model's moves under deploy's registry lease (a deploy or another migration of the
    model waits), planned again inside it: what another migration did meanwhile is done."""
    from mlrecipes.tracking.lease import registry_lease

    with registry_lease(target, name, "deploy", say=say):
        there, aliases = _target_facts(target, [name], copying, fresh=False)
        for move in plan(_facts(source, name), job.stage_aliases, job.store, there, aliases):
            if not move.done:
                version = _carry_out(job, move, source, read_uri, target, copying)
                say(f"{name}: @{move.alias} -> v{version} (was {move.stage} v{move.version})")


def _target_facts(
    target: Tracker | None, names: list[str], copying: bool, fresh: bool
) -> tuple[list[VersionFacts] | None, dict[str, dict[str, str]]]:
    """The versions (None: the source itself) and aliases where the aliases go."""
    if target is None or fresh:
        return ([] if copying else None), {name: {} for name in names}
    there = [f for n in names for f in _facts(target.client, n)] if copying else None
    return there, {name: target.aliases(name) for name in names}


def _missing_sqlite(uri: str) -> bool:
    db = sqlite_path(uri)
    return db is not None and not db.is_file()


@contextmanager
def _readable(uri: str, keep_intact: bool) -> Iterator[str]:
    db = sqlite_path(uri)
    if db is None:
        yield uri
        return
    if not db.is_file():
        raise TrackingError(f"--from-uri {uri}: no such database file {db}")
    if not keep_intact:
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="mlrecipes-migrate-") as tmp:
        copy = Path(tmp) / db.name
        shutil.copy2(db, copy)
        yield f"sqlite:///{copy}"


def _model_names(client: MlflowClient, job: Migration) -> list[str]:
    try:
        found = [m.name for m in _all_models(client)]
    except MlflowException as exc:
        raise TrackingError(f"reading the registry at {job.store}: {exc.message}") from exc
    missing = sorted(set(job.models) - set(found))
    if missing:
        raise TrackingError(
            f"--model {missing[0]}: no such registered model at {job.store} "
            f"(its models: {', '.join(sorted(found)) or 'none'})"
        )
    return sorted(n for n in found if not job.models or n in job.models)


def _all_models(client: MlflowClient) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _facts(client: MlflowClient, name: str) -> list[VersionFacts]:
    try:
        found = client.search_model_versions(f"name = '{name.replace(chr(39), chr(92) + chr(39))}'")
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise TrackingError(f"reading the versions of {name}: {exc.message}") from exc
    return [
        VersionFacts(name, str(mv.version), str(mv.current_stage or "None"), dict(mv.tags))
        for mv in found
    ]


def _settings(
    uri: str, experiment_id: str | None, name: str = "mlrecipes-migration"
) -> TrackingSettings:
    db = sqlite_path(uri)
    # MLflow's default artifact root for a SQLite store is ./mlruns under the *current* folder
    artifacts = (db.resolve().parent / "mlartifacts").as_uri() if db is not None else None
    return TrackingSettings(
        tracking_uri=uri, registry_uri=uri, experiment_name=name, experiment_id=experiment_id,
        artifact_location=artifacts, run_name_prefix=None, model_name="", recipe_name=name,
        profile="", root=Path.cwd(),
    )  # fmt: skip


def _carry_out(
    job: Migration, move: Move, source: MlflowClient, read_uri: str, target: Tracker, copying: bool
) -> str:
    """The version the alias went to."""
    from mlrecipes.tracking.aliases import CHAMPION, move_champion
    from mlrecipes.tracking.recipes2_model import is_recipes_wrapper

    name = move.model
    version = move.target
    if version is None:
        original = source.get_model_version(name, move.version)
        with tempfile.TemporaryDirectory(prefix="mlrecipes-migrate-") as tmp:
            local = _download(source, read_uri, name, move.version, Path(tmp))
            pickled = local / "python_model.pkl"
            wrapper = pickled.is_file() and is_recipes_wrapper(pickled)
            if wrapper or copying:
                version = _relog(job, move, original, local, target, copying, wrapper)
            else:
                version = move.version
                _log_rows_into(job, name, local, target, original.run_id)
                target.set_version_tags(name, version, {MIGRATED_STAGE_TAG: move.stage})
    if version != move.version and not copying:  # also when a killed run left the copy untagged
        target.set_version_tags(name, move.version, {MIGRATED_TO_TAG: version})
    fault_point("migrate.before_alias")  # a copy registered, the alias not moved: found again
    event = {
        "event": "migrated",
        "reason": f"was the {move.stage} version v{move.version} in {job.store} "
        "(mlrecipes migrate registry)",
    }
    if move.alias == CHAMPION:
        move_champion(target, name, version, event)
    else:
        target.set_alias(name, move.alias, version)
    return version


def _download(client: MlflowClient, read_uri: str, name: str, version: str, into: Path) -> Path:
    import mlflow.artifacts

    uri = client.get_model_version_download_uri(name, version)
    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(into), tracking_uri=read_uri
            )
        )
    except (MlflowException, OSError) as exc:
        raise TrackingError(
            f"{name} v{version}: its model files at {redact_uri(uri)} cannot be read: {exc}"
        ) from exc


def _relog(
    job: Migration,
    move: Move,
    original: ModelVersion,
    local: Path,
    target: Tracker,
    copying: bool,
    wrapper: bool,
) -> str:
    """A new version holding the same model, loadable by MLflow 3; its run holds the rows it
    trained on when they were given. Registered with its provenance tags in one call."""
    import cloudpickle
    from mlflow.models import Model

    from mlrecipes.tracking import recipes2_model

    experiment = None if copying else _experiment_of(target, original.run_id)
    tracker = Tracker(_settings(target.settings.connect_tracking_uri, experiment))
    signature = Model.load(str(local / "MLmodel")).signature
    tags = {
        MIGRATED_STAGE_TAG: move.stage,
        MIGRATED_VERSION_TAG: move.version,
        MIGRATED_STORE_TAG: job.store,
    }
    with tracker.run(run_name="migrate-registry", tags=tags) as run_id:
        _log_rows_into(job, move.model, local, tracker, run_id)
        if wrapper:
            model = _recipes_model(move, local)
            from mlrecipes.tracking.requirements import model_pip_requirements

            code = local / "code"
            code_paths = sorted(str(p) for p in code.iterdir()) if code.is_dir() else []
            cloudpickle.register_pickle_by_value(recipes2_model)
            try:
                uri, _ = tracker.log_pyfunc_model(
                    model, "model", signature, code_paths, model_pip_requirements(model.pipeline)
                )
            finally:
                cloudpickle.unregister_pickle_by_value(recipes2_model)
        else:
            tracker.log_artifacts(local, "model")
            uri = f"runs:/{run_id}/model"
    return tracker.register(uri, move.model, tags, run_id=run_id)


def _experiment_of(tracker: Tracker, run_id: str | None) -> str | None:
    if not run_id:
        return None
    try:
        return tracker.client.get_run(run_id).info.experiment_id
    except MlflowException:
        return None


def _recipes_model(move: Move, local: Path) -> RecipesTwoModel:
    import sklearn

    from mlrecipes.tracking.loading import load_sklearn
    from mlrecipes.tracking.recipes2_model import RecipesTwoModel, read_wrapper_settings

    flavor = _flavors(local).get("sklearn")
    if flavor is None:
        raise TrackingError(
            f"{move.model} v{move.version} is an MLflow Recipes model without its scikit-learn "
            "flavor: there is no fitted pipeline to re-package"
        )
    try:
        pipeline = load_sklearn(local)
    except Exception as exc:
        saved = flavor.get("sklearn_version", "an unknown version")
        raise TrackingError(
            f"{move.model} v{move.version}: its scikit-learn pipeline (saved with scikit-learn "
            f"{saved}) does not load with scikit-learn {sklearn.__version__} here "
            f"({type(exc).__name__}: {exc}). scikit-learn pickles load only in the version that "
            f"wrote them: migrate with scikit-learn=={saved} installed, or retrain the model"
        ) from exc
    return RecipesTwoModel(pipeline, **read_wrapper_settings(local / "python_model.pkl"))


def _flavors(local: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8")).get("flavors", {})


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"--training-data {path}: cannot be read ({exc})") from exc
    raise DatasetError(f"--training-data {path}: expected a .csv or .parquet file")


def _log_rows_into(job: Migration, name: str, local: Path, tracker: Tracker, run_id: str) -> None:
    """The hashes of the rows the model trained on, where deploy reads them (``train/``), so a
    later deploy can prove its holdout clean against this champion."""
    path = job.training_data.get(name)
    if path is None:
        return
    import numpy as np
    from mlflow.models import Model

    from mlrecipes.deployment.holdout import training_row_sets

    frame = _read_table(path)
    signature = Model.load(str(local / "MLmodel")).signature
    inputs = signature.inputs.input_names() if signature is not None else list(frame.columns)
    columns = [c for c in inputs if c in frame.columns]
    missing = [c for c in job.key_columns if c not in frame.columns]
    if missing or not columns:
        raise DatasetError(
            f"--training-data {path}: "
            + (f"no column {missing[0]!r} (--key)" if missing else "none of the model's inputs")
        )
    arrays: dict[str, Any] = {}
    for recorded in training_row_sets(frame, columns, list(job.key_columns)).values():
        arrays.update(recorded.to_arrays())
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / Path(TRAINING_ROWS_ARTIFACT).name
        np.savez_compressed(file, **arrays)
        with tracker.run(run_id=run_id):
            tracker.log_artifact(file, str(Path(TRAINING_ROWS_ARTIFACT).parent))
