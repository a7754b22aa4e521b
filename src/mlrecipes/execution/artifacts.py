"""Artifact names served by ``get_artifact`` (the same names as MLflow Recipes) and how to load
each kind; which step serves which name is declared on the steps' outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrecipes.config.suggestions import did_you_mean
from mlrecipes.steps.base import ArtifactKind


@dataclass(frozen=True)
class ArtifactSpec:
    step: str
    file: str
    kind: ArtifactKind


def artifacts() -> dict[str, ArtifactSpec]:
    """Every artifact name, from the steps' output declarations (in DAG order)."""
    from mlrecipes.execution.dag import all_steps
    from mlrecipes.execution.declarations import step_classes

    classes = step_classes()
    found: dict[str, ArtifactSpec] = {}
    for step in all_steps():
        for output in classes[step].outputs:
            for name, kind in output.artifacts.items():
                found[name] = ArtifactSpec(step, output.file, kind)
    return found


def spec_for(name: str) -> ArtifactSpec:
    from mlrecipes.errors import ArtifactError

    known = artifacts()
    spec = known.get(name)
    if spec is None:
        raise ArtifactError(
            f"The artifact with name '{name}' is not supported{did_you_mean(name, known)} "
            f"(available: {', '.join(known)})"
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
