"""MLflow Pipelines projects (MLflow 1.27 to 2.0: ``pipeline.yaml``, ``template: "regression/v1"``,
``mlflow pipelines run``), read as the recipe they became (pure: dicts in, dicts out).

The format differs from MLflow Recipes' mostly in names, so each Pipelines-era key is renamed to
the key MLflow Recipes gave the same setting, its line number kept for messages:

- ``template`` is ``recipe``;
- ``data`` / ``data_scoring`` are ``steps.ingest`` / ``steps.ingest_scoring``, with ``format`` as
  ``using`` and ``custom_loader_method`` as ``loader_method``;
- ``metrics.custom`` / ``metrics.primary`` are ``custom_metrics`` / ``primary_metric``;
- methods named by module path (``steps.train.estimator_fn``) are named by function, as the step
  files are the same (``steps/train.py``);
- ``train.using: estimator_spec`` is ``custom``;
- ``predict.output_location`` / ``output_format`` are ``predict.location`` / ``using``;
- in a profile, ``model_registry.uri`` (the Pipelines key) is ``registry_uri``.
"""

from __future__ import annotations

from typing import Any

TOP = {
    "template": ("recipe",),
    "data": ("steps", "ingest"),
    "data_scoring": ("steps", "ingest_scoring"),
}
DATA_KEYS = {"format": "using", "custom_loader_method": "loader_method"}
METRICS = {"custom": ("custom_metrics",), "primary": ("primary_metric",)}
PREDICT_KEYS = {"output_location": "location", "output_format": "using"}
METHOD_KEYS = (
    "loader_method",
    "split_method",
    "post_split_method",
    "post_split_filter_method",
    "transformer_method",
    "estimator_method",
)


def _renamed(path: tuple) -> tuple:
    """Where a Pipelines-era key lives in a recipe."""
    if not path:
        return path
    head, rest = path[0], path[1:]
    if head in TOP:
        new = TOP[head]
        if head in ("data", "data_scoring") and rest:
            return (*new, DATA_KEYS.get(rest[0], rest[0]), *rest[1:])
        return (*new, *rest)
    if head == "metrics" and rest and rest[0] in METRICS:
        return (*METRICS[rest[0]], *rest[1:])
    if head == "steps" and len(rest) >= 2 and rest[0] == "predict":
        return ("steps", "predict", PREDICT_KEYS.get(rest[1], rest[1]), *rest[2:])
    return path


def _value(path: tuple, value: Any) -> Any:
    if path and path[-1] in METHOD_KEYS and isinstance(value, str):
        return value.rsplit(".", 1)[-1]  # steps.train.estimator_fn -> estimator_fn
    if path[-2:] == ("train", "using") and value == "estimator_spec":
        return "custom"
    return value


def _leaves(data: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(data, dict) and data:
        return [leaf for k, v in data.items() for leaf in _leaves(v, (*path, k))]
    return [(path, data)]


def _put(target: dict[str, Any], path: tuple, value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def from_pipelines(
    data: dict[str, Any], lines: dict[tuple, int]
) -> tuple[dict[str, Any], dict[tuple, int], list[str]]:
    """``pipeline.yaml``'s data and line numbers under recipe.yaml's names, and what was renamed
    (``"data.format -> steps.ingest.using"``) for the note the run prints."""
    out: dict[str, Any] = {}
    renamed = []
    for path, value in _leaves(data):
        new = _renamed(path)
        if new != path:
            renamed.append(f"{'.'.join(map(str, path))} -> {'.'.join(map(str, new))}")
        _put(out, new, _value(new, value))
    new_lines: dict[tuple, int] = {}
    for path, line in lines.items():
        new_lines.setdefault(_renamed(path), line)
    return out, new_lines, renamed


def profile_from_pipelines(data: dict[str, Any]) -> dict[str, Any]:
    """A Pipelines-era profile: ``model_registry.uri`` was the registry's key then."""
    registry = data.get("model_registry")
    if not isinstance(registry, dict) or "uri" not in registry:
        return data
    moved = {("registry_uri" if k == "uri" else k): v for k, v in registry.items()}
    return {**data, "model_registry": moved}
