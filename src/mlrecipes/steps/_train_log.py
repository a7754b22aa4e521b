"""What train records in MLflow: the run's name, parameters, the recipe model, the recipe snapshot and the hashes of the training rows (a logged output deploy reads)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlrecipes.config.redaction import redact
from mlrecipes.modeling.estimators import (
    flat_params,
)
from mlrecipes.steps.base import StepContext

if TYPE_CHECKING:
    from mlrecipes.tracking.client import Tracker


SNAPSHOT_DIR = "recipe_snapshot"  # the folder inside the run's artifacts


def feature_table_tags(spec_path: Path | None) -> dict[str, str]:
    """Tags naming each feature table the training set was read from, and its Delta version."""
    if spec_path is None:
        return {}
    from mlrecipes.features.spec import FeatureSpec

    return FeatureSpec.from_json(spec_path.read_text(encoding="utf-8")).tags()


def run_name(prefix: str | None) -> str | None:
    # The random suffix is chosen at run time, never in the config, so it cannot defeat caching.
    return f"{prefix}-{secrets.token_hex(4)}" if prefix else None


def logged_params(
    estimator: Any, params: dict[str, Any], class_weight: Any, rebalanced: bool, n_rows: int
) -> dict[str, Any]:
    logged = flat_params(estimator)
    logged.update({k: v for k, v in params.items() if k not in logged})
    if rebalanced:
        logged["rebalanced_training_rows"] = n_rows
    if class_weight is not None:
        logged["class_weight"] = str(class_weight)
    return logged


def log_recipe_model(
    tracker: Tracker,
    ctx: StepContext,
    pipeline: Any,
    feature_columns: list[str],
    train_raw: pd.DataFrame,
    requirements: list[str],
    decision_threshold: float | None = None,
    feature_spec: Path | None = None,
) -> tuple[str, str]:
    from mlrecipes.tracking import models

    tcfg = ctx.config.steps.train
    assert tcfg is not None
    model = models.recipe_model(
        pipeline,
        feature_columns,
        is_classifier=ctx.config.is_classification,
        scores=tcfg.predict_scores_for_all_classes,
        prefix=tcfg.predict_prefix,
        positive_class=ctx.config.positive_class,
        decision_threshold=decision_threshold,
        feature_spec=feature_spec.read_text(encoding="utf-8") if feature_spec else None,
    )
    code_paths = [str(ctx.root / "steps")] if (ctx.root / "steps").is_dir() else []
    sample = train_raw[feature_columns].head(200)
    artifacts = {"feature_spec": str(feature_spec)} if feature_spec else None
    return models.log_recipe_model(tracker, model, sample, code_paths, requirements, artifacts)


def _copy_redacted(source: Path, target: Path) -> None:
    """A copy of a recipe file with any credentials in a URI left out (a profile may spell the
    tracking URI with a password; READ on the run must not give it away)."""
    target.write_text(redact(source.read_text(encoding="utf-8")), encoding="utf-8")


def log_snapshot(tracker: Tracker, ctx: StepContext) -> None:
    """recipe.yaml, profiles, steps/*.py, requirements.txt and the rendered config, as run artifacts."""
    import yaml

    snap = ctx.output_path("recipe_snapshot")
    snap.mkdir(parents=True, exist_ok=True)
    root = ctx.root
    for rel in ["recipe.yaml", "requirements.txt"]:
        if (root / rel).is_file():
            _copy_redacted(root / rel, snap / rel)
    for folder, pattern in (("profiles", "*.yaml"), ("steps", "*.py")):
        for path in sorted((root / folder).glob(pattern)):
            (snap / folder).mkdir(exist_ok=True)
            _copy_redacted(path, snap / folder / path.name)
    (snap / "runtime").mkdir(exist_ok=True)
    rendered = yaml.safe_dump(ctx.config.model_dump(mode="json"), sort_keys=True)
    (snap / "runtime" / "recipe.yaml").write_text(redact(rendered), encoding="utf-8")
    tracker.log_artifacts(snap, SNAPSHOT_DIR)
    for step in ("ingest", "split", "transform"):
        card = ctx.workspace.card_path(step)
        if card.is_file():
            tracker.log_artifact(card, step)


def record_training_rows(
    ctx: StepContext,
    tracker: Tracker,
    parts: list[pd.DataFrame],
    feature_columns: list[str],
    key_columns: list[str],
) -> None:
    """Hashes of the rows the model saw, as an output and a run artifact (``train/``), so that
    deploy can prove a holdout holds none of them, for this model and for a later challenger."""
    from mlrecipes.deployment.holdout import training_row_sets

    seen = pd.concat(parts, ignore_index=True)
    arrays: dict[str, Any] = {}
    for recorded in training_row_sets(seen, feature_columns, key_columns).values():
        arrays.update(recorded.to_arrays())
    np.savez_compressed(ctx.output_path("training_rows"), **arrays)
    ctx.log_output("training_rows")
