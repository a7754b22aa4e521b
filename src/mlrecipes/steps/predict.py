"""predict: score the ingested scoring data with a registered model and write the results.

The model is ``predict.model_uri`` when given; otherwise ``models:/<model_name>@champion``, falling
back to the alias the register step sets. Two engines: ``pandas`` (batch by batch, flat memory) and
``spark`` (``mlflow.pyfunc.spark_udf``). Bad input fails before a single row is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, PositiveInt, StrictBool, model_validator

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.errors import DatasetError
from mlrecipes.io.sources import SparkConfig
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig


class PredictOutput(Block):
    using: Literal["parquet", "delta", "table"]
    location: str


class PredictConfig(StepBlock):
    output: PredictOutput | None = None
    using: Literal["parquet", "delta", "table"] | None = None
    location: str | None = None
    model_uri: str | None = None
    result_type: str = "double"
    save_mode: Literal["overwrite", "append", "default", "error", "errorifexists", "ignore"] = (
        "overwrite"
    )
    skip_data_profiling: StrictBool = False
    # mlrecipes additions
    engine: Literal["pandas", "spark"] = "pandas"
    id_columns: list[str] = Field(default_factory=list)
    # Every input column is written next to the predictions (MLflow Recipes' output); false
    # writes only id_columns and the predictions: a slim table, for scoring at scale.
    keep_input_columns: StrictBool = True
    batch_size: PositiveInt = 50_000
    partition_by_date: StrictBool = False
    scoring_time: datetime | None = None  # default now (UTC); set it to backfill a past date
    spark: SparkConfig = Field(default_factory=SparkConfig)

    @model_validator(mode="after")
    def _output_given(self) -> PredictConfig:
        if self.output is None and (self.using is None or self.location is None):
            raise ValueError("output: {using, location} is required")
        if self.resolved_output.using == "table" and self.engine != "spark":
            raise ValueError("output.using: table (a metastore table) needs engine: spark")
        return self

    @property
    def resolved_output(self) -> PredictOutput:
        if self.output is not None:
            return self.output
        return PredictOutput(using=self.using, location=self.location)  # type: ignore[arg-type]


class PredictStep(Step):
    name = "predict"
    config_model = PredictConfig
    config_required = True
    inputs = ("ingest_scoring",)
    outputs = (Output("prediction_info", "prediction_info.json", {"scored_data": "scores"}),)
    pipeline = "scoring"
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
        from mlrecipes.scoring import conversions, schema_problems
        from mlrecipes.tracking.models import input_schema, resolve_scoring_model

        cfg = self.block(ctx.config)
        output = cfg.resolved_output
        location = _output_path(output.location, ctx.root) if output.using != "table" else None
        tracker = ctx.tracker()
        by_key = ctx.input_path("ingest_scoring", "scoring_model")
        if cfg.model_uri is None and by_key.is_file():
            # rows looked up by a model's feature spec are scored by that very version
            pinned = ctx.read_json("ingest_scoring", "scoring_model")
            import dataclasses

            resolved = dataclasses.replace(
                resolve_scoring_model(tracker, pinned["model_uri"], "", ""),
                alias=pinned.get("alias"),
            )
        else:
            resolved = resolve_scoring_model(
                tracker, cfg.model_uri, ctx.config.model_name or "", ctx.config.steps.register.alias
            )
        ctx.log(f"scoring with {resolved.describe()}")
        if cfg.model_uri is None and resolved.alias not in ("champion", None):
            ctx.log(
                f"warning: {ctx.config.model_name} has no champion yet; scoring with "
                f"@{resolved.alias} (run deploy to choose a champion)"
            )
        model = tracker.load_model(resolved.uri)

        source = ctx.input_path("ingest_scoring", "dataset")
        schema = parquet_schema(source)
        required = input_schema(model)
        problems = schema_problems(schema, required)
        missing_ids = [c for c in cfg.id_columns if c not in schema.names]
        if missing_ids:
            problems.insert(0, f"id columns {missing_ids} (steps.predict.id_columns) are missing")
        if problems:
            from mlrecipes.modeling.data_checks import delimiter_hint

            raise DatasetError(
                f"scoring data does not fit model {resolved.describe()}: "
                + "; ".join(problems)
                + delimiter_hint(schema.names)
                + ". Nothing was written."
            )
        plan = conversions(schema, required)
        try:
            check_convertible(source, plan, cfg.batch_size)
        except DatasetError as exc:
            raise DatasetError(
                f"scoring data does not fit model {resolved.describe()}: {exc}. Nothing was written."
            ) from None
        scored_at = _scoring_time(cfg.scoring_time)
        partition = ["scoring_date"] if cfg.partition_by_date else None
        if cfg.engine == "spark":
            from mlrecipes.steps._predict_spark import all_null_columns, score_with_spark

            null_columns = all_null_columns(cfg, source, list(required))
            rows, preview = score_with_spark(
                ctx, cfg, resolved, model, source, location, scored_at, partition, plan
            )
        else:
            nulls = NullCounter(list(required))
            rows, preview = _score_with_pandas(
                cfg, resolved, model, source, location, scored_at, partition, plan, nulls
            )
            null_columns = nulls.all_null()
        if null_columns:
            ctx.log(f"columns entirely empty in the scoring data: {', '.join(null_columns)}")

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
            "converted_columns": plan,
            "all_null_columns": null_columns,
        }
        ctx.write_json("prediction_info", info)
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, info, preview if isinstance(preview, pd.DataFrame) else None)
        return StepResult(summary=info, card=card)


class NullCounter:
    """Counts missing values per model input column over the batches (for the summary)."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.rows = 0
        self.nulls = dict.fromkeys(columns, 0)

    def add(self, frame: Any) -> None:
        self.rows += len(frame)
        present = [c for c in self.columns if c in frame.columns]
        for column, count in frame[present].isna().sum().items():
            self.nulls[column] += int(count)

    def all_null(self) -> list[str]:
        return [c for c, n in self.nulls.items() if self.rows and n == self.rows]


def check_convertible(source: Path, plan: dict[str, str], batch_rows: int) -> None:
    """Parse every value that must be parsed before a single row is written (only the columns
    whose conversion can fail are read)."""
    from mlrecipes.io.batches import iter_parquet_frames
    from mlrecipes.scoring import coerce_frame, parsed_columns

    columns = parsed_columns(plan)
    if not columns:
        return
    first_row = 0
    for frame in iter_parquet_frames(source, batch_rows, columns=columns):
        coerce_frame(frame, {c: plan[c] for c in columns}, first_row)
        first_row += len(frame)


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
    plan: dict[str, str],
    nulls: NullCounter,
) -> tuple[int, Any]:
    import pyarrow as pa

    from mlrecipes.io.batches import (
        iter_parquet_frames,
        parquet_schema,
        write_batches,
    )
    from mlrecipes.process.memory import release_free_memory, returnable_memory
    from mlrecipes.scoring import coerce_frame, output_frame

    assert location is not None
    frames = iter_parquet_frames(source, cfg.batch_size)
    dated = bool(partition)

    def score(frame: Any) -> Any:
        nulls.add(frame)
        inputs = coerce_frame(frame, plan)
        predictions = model.predict(inputs)
        return output_frame(
            inputs,  # model inputs as the model's types, the other columns as read
            predictions,
            cfg.id_columns,
            resolved,
            scored_at,
            dated,
            cfg.keep_input_columns,
        )

    first_out = score(next(frames))
    schema = output_schema(first_out, parquet_schema(source))

    def batches():
        yield pa.RecordBatch.from_pandas(first_out, schema=schema, preserve_index=False)
        for frame in frames:
            yield pa.RecordBatch.from_pandas(score(frame), schema=schema, preserve_index=False)
            release_free_memory()

    with returnable_memory():
        rows = write_batches(
            batches(), schema, cfg.resolved_output.using, location, cfg.save_mode, partition
        )
    return rows, first_out.head(10_000)


def output_schema(first: Any, source: Any) -> Any:
    """The output's Arrow schema, from the first scored batch. A column that batch holds only
    nulls in takes the scoring data's type (later batches may hold values), or text when the
    whole column is empty (Delta has no null type)."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(first, preserve_index=False).remove_metadata()
    fields = []
    for f in schema:
        if pa.types.is_null(f.type):
            known = source.field(f.name).type if f.name in source.names else pa.null()
            f = f.with_type(pa.string() if pa.types.is_null(known) else known)
        fields.append(f)
    return pa.schema(fields)


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
            "Columns converted to the model's types": ", ".join(
                f"{c} → {t}" for c, t in info["converted_columns"].items()
            )
            or "none",
            "Columns entirely empty": ", ".join(info["all_null_columns"]) or "none",
        }
    )
    if preview is not None and not preview.empty:
        from mlrecipes.cards.profiles import data_profile_tab

        card.tabs.append(data_profile_tab(preview, name="Scored Data Profile"))
        card.tab("Scored Data Preview").table(preview.head(20))
