"""predict: score the ingested scoring data with a registered model and write the results.

The model is ``predict.model_uri`` when given; otherwise ``models:/<model_name>@champion``, falling
back to the alias the register step sets. Two engines: ``pandas`` (batch by batch, flat memory) and
``spark`` (``mlflow.pyfunc.spark_udf``). Bad input fails before a single row is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlrecipes.config.schema import PredictConfig, RecipeConfig
from mlrecipes.errors import ConfigError, DatasetError
from mlrecipes.steps.base import Step, StepContext, StepResult, dump
from mlrecipes.steps.outputs import SCORING_DATASET

INFO_FILE = "prediction_info.json"


class PredictStep(Step):
    name = "predict"
    inputs = ("ingest_scoring",)
    uses_tracking = True
    always_run = True  # the model behind an alias can change without any local file changing

    def cache_config(self, config: RecipeConfig) -> dict[str, Any]:
        return {
            "block": dump(config.steps.predict),
            "model_name": config.model_name,
            "alias": config.steps.register.alias,
        }

    def run(self, ctx: StepContext) -> StepResult:
        import pandas as pd

        from mlrecipes.io.batches import parquet_rows, parquet_schema
        from mlrecipes.scoring import schema_problems
        from mlrecipes.tracking.models import input_schema, load_pyfunc, resolve_scoring_model

        cfg = ctx.config.steps.predict
        if cfg is None:
            raise ConfigError("recipe.yaml: steps.predict is required to run 'predict'")
        output = cfg.resolved_output
        location = _output_path(output.location, ctx.root) if output.using != "table" else None
        tracker = ctx.tracker()
        resolved = resolve_scoring_model(
            tracker, cfg.model_uri, ctx.config.model_name or "", ctx.config.steps.register.alias
        )
        ctx.log(f"scoring with {resolved.describe()}")
        model = load_pyfunc(resolved.uri)

        source = ctx.input_path("ingest_scoring", SCORING_DATASET)
        schema = parquet_schema(source)
        problems = schema_problems(schema, input_schema(model))
        missing_ids = [c for c in cfg.id_columns if c not in schema.names]
        if missing_ids:
            problems.insert(0, f"id columns {missing_ids} (steps.predict.id_columns) are missing")
        if problems:
            raise DatasetError(
                f"scoring data does not fit model {resolved.describe()}: "
                + "; ".join(problems)
                + ". Nothing was written."
            )
        scored_at = _scoring_time(cfg.scoring_time)
        partition = ["scoring_date"] if cfg.partition_by_date else None
        if cfg.engine == "spark":
            from mlrecipes.steps.predict_spark import score_with_spark

            rows, preview = score_with_spark(
                ctx, cfg, resolved, model, source, location, scored_at, partition
            )
        else:
            rows, preview = _score_with_pandas(
                cfg, resolved, model, source, location, scored_at, partition
            )

        info = {
            "output": {"using": output.using, "location": output.location},
            "output_path": str(location) if location else output.location,
            "rows_scored": rows,
            "rows_in_scoring_data": parquet_rows(source),
            "model_uri": resolved.uri,
            "model_name": resolved.name,
            "model_version": resolved.version,
            "model_alias": resolved.alias,
            "scored_at": scored_at.isoformat(),
            "engine": cfg.engine,
            "save_mode": cfg.save_mode,
        }
        ctx.write_json(INFO_FILE, info)
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, info, preview if isinstance(preview, pd.DataFrame) else None)
        return StepResult(summary=info, card=card)


def _scoring_time(configured: datetime | None) -> datetime:
    if configured is None:
        return datetime.now(UTC).replace(microsecond=0)
    return configured if configured.tzinfo else configured.replace(tzinfo=UTC)


def _output_path(location: str, root: Path) -> Path:
    path = Path(location).expanduser()
    return path if path.is_absolute() else (root / path)


def _score_with_pandas(
    cfg: PredictConfig,
    resolved: Any,
    model: Any,
    source: Path,
    location: Path | None,
    scored_at: datetime,
    partition: list[str] | None,
) -> tuple[int, Any]:
    import pyarrow as pa

    from mlrecipes.io.batches import (
        iter_parquet_frames,
        release_free_memory,
        use_returnable_memory,
        write_batches,
    )
    from mlrecipes.scoring import output_frame

    assert location is not None
    use_returnable_memory()
    frames = iter_parquet_frames(source, cfg.batch_size)
    first = next(frames)
    first_out = output_frame(
        first, model.predict(first), cfg.id_columns, resolved, scored_at, bool(partition)
    )
    schema = pa.Schema.from_pandas(first_out, preserve_index=False).remove_metadata()

    def batches():
        yield pa.RecordBatch.from_pandas(first_out, schema=schema, preserve_index=False)
        for frame in frames:
            out = output_frame(
                frame, model.predict(frame), cfg.id_columns, resolved, scored_at, bool(partition)
            )
            yield pa.RecordBatch.from_pandas(out, schema=schema, preserve_index=False)
            release_free_memory()

    rows = write_batches(
        batches(), schema, cfg.resolved_output.using, location, cfg.save_mode, partition
    )
    return rows, first_out.head(10_000)


def _fill_card(card: Any, info: dict[str, Any], preview: Any) -> None:
    summary = card.tab("Run Summary")
    summary.kv(
        {
            "Number of scored rows": info["rows_scored"],
            "Model": info["model_uri"],
            "Model name / version": f"{info['model_name']} / {info['model_version']}",
            "Alias used": info["model_alias"] or "none (explicit model_uri)",
            "Engine": info["engine"],
            "Output": f"{info['output']['using']} at {info['output_path']} (save_mode {info['save_mode']})",
            "Scored at": info["scored_at"],
        }
    )
    if preview is not None and not preview.empty:
        from mlrecipes.cards.profiles import data_profile_tab

        card.tabs.append(data_profile_tab(preview, name="Scored Data Profile"))
        card.tab("Scored Data Preview").table(preview.head(20))
