"""The Spark engine of batch scoring: ``mlflow.pyfunc.spark_udf`` over a Spark DataFrame.

Runs on ``local[*]`` unless ``predict.spark.master`` (classic) or ``predict.spark.remote`` (Spark
Connect) says otherwise. Delta output: where Spark can write Delta itself (``writes_delta``: Sail,
Delta Lake on the cluster, Databricks) it does (``format("delta")``), after the checks every
output write passes (``io.batches.output_writable``); without it (Spark's own Connect server or
a laptop without Maven access), Spark writes parquet to a staging folder and the rows are
committed to the Delta table with ``deltalake``.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlrecipes.io.sources import SparkConfig
    from mlrecipes.scoring.job import ScoringJob
    from mlrecipes.tracking.client import Tracker

_SPARK_TYPES = {
    "double": "double",
    "float": "float",
    "long": "bigint",
    "integer": "int",
    "string": "string",
    "boolean": "boolean",
    "datetime": "timestamp",
}


def spark_session(spark: SparkConfig | None) -> Any:
    from mlrecipes.io.sources import SparkConfig
    from mlrecipes.io.spark import spark_session as session

    return session(spark or SparkConfig(), "mlrecipes-predict")


def result_type(model: Any, fallback: str) -> str:
    from mlrecipes.tracking.models import output_columns

    columns = output_columns(model)
    if not columns:
        return fallback
    return ", ".join(f"`{name}` {_SPARK_TYPES.get(kind, 'string')}" for name, kind in columns)


def _converted(F: Any, column: str, mlflow_type: str) -> Any:
    """The Spark form of ``scoring.coerce_frame`` (values were checked before, on the driver):
    numbers as text without a trailing ``.0``, text parsed with blanks as nulls."""
    col = F.col(column)
    if mlflow_type == "string":
        return F.regexp_replace(col.cast("string"), r"\.0$", "")
    blank_as_null = F.when(F.trim(col.cast("string")) == "", None).otherwise(F.trim(col))
    return blank_as_null.cast(_SPARK_TYPES.get(mlflow_type, mlflow_type))


def all_null_columns(spark: SparkConfig | None, source: Path, columns: list[str]) -> list[str]:
    """Model input columns with no value at all, counted by one Spark aggregation (the rows
    stay on the executors)."""
    from pyspark.sql import functions as F

    frame = spark_session(spark).read.parquet(str(source))
    present = [c for c in columns if c in frame.columns]
    if not present:
        return []
    counts = frame.select(*[F.count(F.col(c)).alias(c) for c in present]).first()
    return [c for c in present if counts is not None and counts[c] == 0]


def score_with_spark(job: ScoringJob, tracker: Tracker) -> tuple[int, Any]:
    """Score ``job.source`` on Spark into the output; the rows written and a preview."""
    from pyspark.sql import functions as F

    spark = spark_session(job.spark)
    out = _scored_frame(job, tracker, spark)
    if job.partition:
        out = out.withColumn("scoring_date", F.lit(job.scored_at.date().isoformat()))
    return _write(job, spark, out)


def _scored_frame(job: ScoringJob, tracker: Tracker, spark: Any) -> Any:
    """The output rows as a Spark DataFrame: the kept input columns (model inputs converted to
    the model's types), the model's outputs through its Spark UDF, and which model scored when."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from mlrecipes.io.batches import parquet_schema
    from mlrecipes.scoring.frames import kept_columns
    from mlrecipes.tracking.models import input_schema

    source, plan, resolved, scored_at = job.source, job.plan, job.resolved, job.scored_at
    frame = spark.read.parquet(str(source))
    rtype = result_type(job.model, job.result_type)
    udf = tracker.spark_udf(spark, resolved.uri, rtype)
    required = input_schema(job.model)
    inputs = list(required) or frame.columns
    # an entirely empty column is typed null in the parquet file (Spark reads it as int)
    void = {f.name for f in parquet_schema(source) if pa.types.is_null(f.type)}
    converted = [
        _converted(F, c, plan[c]).alias(c)
        if c in plan
        else F.col(c).cast(_SPARK_TYPES.get(required[c], required[c])).alias(c)
        if c in void and c in required
        else F.col(c)
        for c in inputs
    ]
    scored = frame.withColumn("_prediction", udf(F.struct(*converted)))
    struct_result = "," in rtype or "`" in rtype
    prediction_cols = (
        ["_prediction.*"] if struct_result else [F.col("_prediction").alias("prediction")]
    )
    produced = scored.select("_prediction.*").columns if struct_result else ["prediction"]
    by_name = dict(zip(inputs, converted, strict=True))
    kept = kept_columns(frame.columns, job.id_columns, job.keep_input_columns, produced)
    return scored.select(
        # an entirely empty column that is not a model input is written as text (no null type)
        *[
            by_name.get(c, F.col(c).cast("string").alias(c) if c in void else F.col(c))
            for c in kept
        ],
        *prediction_cols,
        F.lit(resolved.name or "").alias("model_name"),
        F.lit(resolved.version or "").alias("model_version"),
        F.lit(scored_at.replace(tzinfo=None)).cast("timestamp").alias("scored_at"),
    )


def _write(job: ScoringJob, spark: Any, out: Any) -> tuple[int, Any]:
    """The scored rows into the output: a metastore table or Delta by Spark itself when it can,
    else parquet staged by Spark and streamed into the output by ``write_batches``."""
    from pyspark.sql import functions as F

    from mlrecipes.io.batches import output_writable, writer_mode
    from mlrecipes.io.spark import writes_delta

    scored_at = job.scored_at
    partition = job.partition
    mode = writer_mode(job.save_mode)
    if job.using == "table":
        assert job.table is not None
        fmt = "delta" if writes_delta(spark) else "parquet"
        writer = out.write.mode(mode).format(fmt)
        if partition:
            writer = writer.partitionBy(*partition)
        writer.saveAsTable(job.table)
        rows = (
            spark.table(job.table)
            .filter(F.col("scored_at") == F.lit(scored_at.replace(tzinfo=None)))
            .count()
        )
        return rows, out.limit(10_000).toPandas()
    location = job.location
    assert location is not None
    if job.using == "delta" and writes_delta(spark):
        # Spark writes the table itself (Sail, Delta Lake on the cluster): after the same
        # checks as every other write, and in one Delta commit of its own
        if not output_writable(job.using, location, job.save_mode):
            return 0, out.limit(0).toPandas()
        writer = out.write.mode(mode).format("delta")
        if partition:
            writer = writer.partitionBy(*partition)
        writer.save(str(location))
        written = spark.read.format("delta").load(str(location))
        rows = written.filter(F.col("scored_at") == F.lit(scored_at.replace(tzinfo=None))).count()
        return rows, out.limit(10_000).toPandas()
    return _write_staged(job, out, location, partition)


def _write_staged(
    job: ScoringJob, out: Any, location: Path, partition: list[str] | None
) -> tuple[int, Any]:
    """Spark writes parquet to a staging folder; the rows then stream into the final output."""
    from mlrecipes.io.batches import streamed, write_batches

    staging = location.parent / f".{location.name}.spark-{uuid.uuid4().hex[:8]}"
    location.parent.mkdir(parents=True, exist_ok=True)
    try:
        # files of at most a batch: a parquet row group is read whole, and Spark's default
        # (128 MB row groups) held ~375 MB per million rows in the driver while committing
        out.write.mode("overwrite").option("maxRecordsPerFile", job.batch_size).parquet(
            str(staging)
        )
        import pyarrow.dataset as ds

        dataset = ds.dataset(str(staging), format="parquet")
        rows = write_batches(
            streamed(dataset, job.batch_size),
            dataset.schema.remove_metadata(),
            job.using,
            location,
            job.save_mode,
            partition,
        )
        preview = dataset.head(10_000).to_pandas()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows, preview
