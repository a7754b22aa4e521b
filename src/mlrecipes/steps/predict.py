"""predict: score the ingested scoring data with a registered model and write the results.

The model is ``predict.model_uri`` when given; otherwise ``models:/<model_name>@champion``, falling
back to the alias the register step sets. Two engines: ``pandas`` (batch by batch, flat memory) and
``spark`` (``mlflow.pyfunc.spark_udf``). Bad input fails before a single row is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, PositiveInt, StrictBool, model_validator

from mlrecipes.config.blocks import Block, StepBlock
from mlrecipes.config.locations import local_path
from mlrecipes.errors import DatasetError
from mlrecipes.io.sources import SparkConfig
from mlrecipes.process.faults import fault_point
from mlrecipes.steps.base import Output, Step, StepContext, StepResult, dump

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.io.journal import Journal
    from mlrecipes.scoring.job import ScoringJob
    from mlrecipes.tracking.client import Tracker
    from mlrecipes.tracking.models import ResolvedModel


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

        from mlrecipes.io.batches import parquet_rows

        cfg = self.block(ctx.config)
        tracker = ctx.tracker()
        resolved = _scoring_model(ctx, cfg)
        job = _scoring_job(ctx, cfg, resolved, tracker.load_model(resolved.uri))
        required = list(job.input_columns)
        journal = ctx.journal("scores")
        adopted = _recover(ctx, cfg, job, journal)
        if adopted is not None:
            job = adopted
            rows, preview, null_columns = _adopted_window(job, required)
        else:
            _journal_window(job, journal)
            rows, preview, null_columns = _score(cfg, job, required, tracker)
            fault_point("predict.scores_committed")  # committed, not yet recorded
        if null_columns:
            ctx.log(f"columns entirely empty in the scoring data: {', '.join(null_columns)}")
        output = cfg.resolved_output
        info = {
            "output": {"using": output.using, "location": output.location},
            "output_path": str(job.location) if job.location else output.location,
            "rows_scored": rows,
            "rows_in_scoring_data": parquet_rows(job.source),
            "model_uri": resolved.uri,
            "model_name": resolved.name,
            "model_version": resolved.version,
            "model_alias": resolved.alias,
            "scored_at": job.scored_at.isoformat(),
            "engine": cfg.engine,
            # what monitor needs to read the scores back (it reads no predict configuration)
            "id_columns": list(cfg.id_columns),
            # false: the scores table holds no input column; monitor reads them from the input
            "keep_input_columns": cfg.keep_input_columns,
            "spark": dump(cfg.spark),
            "save_mode": cfg.save_mode,
            "converted_columns": job.plan,
            "all_null_columns": null_columns,
        }
        if adopted is not None:
            info["recovered_window"] = True
        ctx.write_json("prediction_info", info)
        journal.clear()  # the window is recorded
        card = ctx.new_card()
        with ctx.card_work():
            _fill_card(card, info, preview if isinstance(preview, pd.DataFrame) else None)
        return StepResult(summary=info, card=card)

    @classmethod
    def result_phrase(cls, summary: Mapping[str, Any]) -> str | None:
        return f"scored {summary.get('rows_scored')} rows → {summary.get('output_path')}"


def _score(
    cfg: PredictConfig, job: ScoringJob, required: list[str], tracker: Tracker
) -> tuple[int, Any, list[str]]:
    """Score the job into its output: rows written, a preview, the input's all-null columns."""
    if cfg.engine == "spark":
        from mlrecipes.scoring.spark_engine import all_null_columns, score_with_spark

        null_columns = all_null_columns(cfg.spark, job.source, required)
        rows, preview = score_with_spark(job, tracker)
        return rows, preview, null_columns
    from mlrecipes.scoring.pandas_engine import NullCounter, score_with_pandas

    nulls = NullCounter(required)
    rows, preview = score_with_pandas(job, nulls)
    return rows, preview, nulls.all_null()


def _journal_window(job: ScoringJob, journal: Journal) -> None:
    """Note the window about to be committed (cleared once prediction_info records it)."""
    from mlrecipes.scoring.recovery import input_print

    if job.location is None:
        return  # a metastore table: Spark's own write, nothing this run could adopt
    resolved = job.resolved
    journal.write(
        {"scored_at": job.scored_at.isoformat(), "location": str(job.location),
         "input": input_print(job.source), "model_uri": resolved.uri,
         "model_name": resolved.name, "model_version": resolved.version}
    )  # fmt: skip


def _recover(
    ctx: StepContext, cfg: PredictConfig, job: ScoringJob, journal: Journal
) -> ScoringJob | None:
    """What a killed run left (see :mod:`mlrecipes.scoring.recovery`): the job of the window
    to adopt, or None to score. A fixed scoring time the output holds already is refused."""
    from mlrecipes.scoring.recovery import (
        committed_rows,
        input_print,
        recovery,
        refuse_second_scoring,
    )

    if job.location is None:
        return None
    pending = journal.read()
    if pending is not None:
        where = Path(pending.get("location") or job.location)
        found = recovery(
            pending,
            committed_rows(where, str(pending.get("scored_at"))),
            input_print(job.source),
            job.resolved.uri,
        )
        ctx.log(found.message(where))
        journal.clear()
        if found.action == "adopt" and where == job.location:
            return dataclasses.replace(job, scored_at=datetime.fromisoformat(found.scored_at))
    if cfg.scoring_time is not None and job.save_mode != "overwrite":
        refuse_second_scoring(job.location, job.scored_at.isoformat())
    return None


def _adopted_window(job: ScoringJob, required: list[str]) -> tuple[int, Any, list[str]]:
    """The figures of a committed window, read back from the output and the input."""
    import pyarrow as pa

    from mlrecipes.io.batches import iter_parquet_frames
    from mlrecipes.io.monitoring_table import window_batches
    from mlrecipes.scoring.pandas_engine import NullCounter

    assert job.location is not None
    scored_at = job.scored_at.isoformat()
    rows, head = 0, []
    for batch in window_batches(job.location, scored_at):
        rows += batch.num_rows
        if sum(b.num_rows for b in head) < 10_000:
            head.append(batch)
    preview = pa.Table.from_batches(head).to_pandas().head(10_000) if head else None
    nulls = NullCounter(required)
    for frame in iter_parquet_frames(job.source, job.batch_size):
        nulls.add(frame)
    return rows, preview, nulls.all_null()


def _scoring_model(ctx: StepContext, cfg: PredictConfig) -> ResolvedModel:
    """The one model this scoring run uses: the version ingest_scoring looked features up for,
    else ``model_uri``, else the champion (the register alias before there is one)."""
    from mlrecipes.steps.deploy import scoring_policy
    from mlrecipes.tracking.models import ResolvedModel, resolve_scoring_model

    if cfg.model_uri is None and ctx.input_path("ingest_scoring", "scoring_model").is_file():
        # rows looked up by a model's feature spec are scored by that very version, as
        # ingest_scoring resolved it (the model is resolved once per scoring run)
        pinned = ctx.read_json("ingest_scoring", "scoring_model")
        resolved = ResolvedModel(
            pinned["model_uri"], pinned["name"], pinned["version"], pinned.get("alias")
        )
    else:
        resolved = resolve_scoring_model(
            ctx.tracker(),
            cfg.model_uri,
            ctx.config.model_name or "",
            ctx.config.steps.register.alias,
            scoring_policy(ctx.config),
        )
    ctx.log(f"scoring with {resolved.describe()}")
    if cfg.model_uri is None and resolved.alias not in ("champion", None):
        ctx.log(
            f"warning: {ctx.config.model_name} has no champion yet; scoring with "
            f"@{resolved.alias} (run deploy to choose a champion)"
        )
    return resolved


def _scoring_job(
    ctx: StepContext, cfg: PredictConfig, resolved: ResolvedModel, model: Any
) -> ScoringJob:
    """The scoring data checked against the model's signature (every value that must be
    converted is converted once before anything is written), as one job for either engine."""
    from mlrecipes.io.batches import parquet_schema
    from mlrecipes.scoring.frames import conversions, schema_problems
    from mlrecipes.scoring.job import ScoringJob
    from mlrecipes.scoring.pandas_engine import check_convertible
    from mlrecipes.tracking.models import input_schema

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
    output = cfg.resolved_output
    return ScoringJob(
        model=model,
        resolved=resolved,
        source=source,
        plan=plan,
        input_columns=tuple(required),
        scored_at=_scoring_time(cfg.scoring_time),
        using=output.using,
        location=_output_path(output.location, ctx.root) if output.using != "table" else None,
        table=output.location if output.using == "table" else None,
        save_mode=cfg.save_mode,
        partition=["scoring_date"] if cfg.partition_by_date else None,
        id_columns=cfg.id_columns,
        keep_input_columns=cfg.keep_input_columns,
        batch_size=cfg.batch_size,
        result_type=cfg.result_type,
        spark=cfg.spark,
    )


def _scoring_time(configured: datetime | None) -> datetime:
    if configured is None:
        return datetime.now(UTC).replace(microsecond=0)
    return configured if configured.tzinfo else configured.replace(tzinfo=UTC)


def _output_path(location: str, root: Path) -> Path:
    return local_path(location, root)


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
        card.tab("Scored Data Preview").rows(preview.head(20))
