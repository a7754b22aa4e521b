"""Artifact names served by ``get_artifact`` (the same names as MLflow Recipes) and how to load them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["frame", "pickle", "text", "model", "run", "model_version", "scores"]


@dataclass(frozen=True)
class ArtifactSpec:
    step: str
    file: str
    kind: Kind


ARTIFACTS: dict[str, ArtifactSpec] = {
    "ingested_data": ArtifactSpec("ingest", "dataset.parquet", "frame"),
    "training_data": ArtifactSpec("split", "train.parquet", "frame"),
    "validation_data": ArtifactSpec("split", "validation.parquet", "frame"),
    "test_data": ArtifactSpec("split", "test.parquet", "frame"),
    "transformed_training_data": ArtifactSpec(
        "transform", "transformed_training_data.parquet", "frame"
    ),
    "transformed_validation_data": ArtifactSpec(
        "transform", "transformed_validation_data.parquet", "frame"
    ),
    "transformer": ArtifactSpec("transform", "transformer.pkl", "pickle"),
    "model": ArtifactSpec("train", "model_info.json", "model"),
    "run": ArtifactSpec("train", "model_info.json", "run"),
    "best_parameters": ArtifactSpec("train", "best_parameters.yaml", "text"),
    "predicted_training_data": ArtifactSpec("train", "predicted_training_data.parquet", "frame"),
    "registered_model_version": ArtifactSpec(
        "register", "registered_model_version.json", "model_version"
    ),
    "ingested_scoring_data": ArtifactSpec("ingest_scoring", "scoring-dataset.parquet", "frame"),
    # the scores are read back from predict's output (parquet directory or Delta table)
    "scored_data": ArtifactSpec("predict", "prediction_info.json", "scores"),
}


def spec_for(name: str) -> ArtifactSpec:
    from mlrecipes.errors import ArtifactError

    spec = ARTIFACTS.get(name)
    if spec is None:
        raise ArtifactError(
            f"The artifact with name '{name}' is not supported; available: {', '.join(ARTIFACTS)}"
        )
    return spec


def load_artifact(spec: ArtifactSpec, path: Path, tracker_factory: Any) -> Any:
    import json

    if spec.kind == "frame":
        from mlrecipes.io.frames import read_frame

        return read_frame(path)
    if spec.kind == "pickle":
        import cloudpickle

        return cloudpickle.loads(path.read_bytes())
    if spec.kind == "text":
        return path.read_text(encoding="utf-8")
    info = json.loads(path.read_text(encoding="utf-8"))
    if spec.kind == "scores":
        from mlrecipes.io.batches import read_output

        if info["output"]["using"] == "table":
            return None  # a metastore table: read it with Spark (spark.table(location))
        return read_output(info["output"]["using"], Path(info["output_path"]))
    tracker = tracker_factory()
    if spec.kind == "model":
        return tracker.load_model(info["model_uri"])
    if spec.kind == "run":
        return tracker.client.get_run(info["run_id"])
    return tracker.client.get_model_version(
        info["registered_model_name"], info["registered_model_version"]
    )


def artifact_location(spec: ArtifactSpec, path: Path) -> str:
    """What ``get-artifact`` prints: a local path, or the MLflow URI for models, runs and versions."""
    import json

    if spec.kind in ("frame", "pickle", "text"):
        return str(path)
    info = json.loads(path.read_text(encoding="utf-8"))
    if spec.kind == "model":
        return info["model_uri"]
    if spec.kind == "run":
        return f"runs:/{info['run_id']}"
    if spec.kind == "scores":
        return info["output_path"]
    return info["model_uri"]
