"""The SparkSession of the Spark engines (predict, features, feature-store ingest)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.process.environment import environment_defaults

if TYPE_CHECKING:
    from mlrecipes.io.sources import IngestConfig, SparkConfig


def spark_target(cfg: SparkConfig) -> tuple[str | None, str | None]:
    """(master, remote): the configured one, else ``MLRECIPES_SPARK_MASTER`` or ``SPARK_REMOTE``
    (PySpark's and Databricks Connect's own variable for a Spark Connect URL), else local[*]."""
    if cfg.remote or cfg.master:
        return cfg.master, cfg.remote
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        return None, remote
    return os.environ.get("MLRECIPES_SPARK_MASTER", "local[*]"), None


def spark_session(cfg: SparkConfig, app: str = "mlrecipes") -> Any:
    """A SparkSession on ``local[*]`` unless ``cfg`` (or the environment, ``spark_target``)
    names a master or a Spark Connect URL. The engines use only what Spark Connect offers (the
    DataFrame API, ``mapInPandas``, ``spark_udf``; no RDD, no ``_jvm``), so any of them runs."""
    # Python workers must be this interpreter (with this environment's pandas, sklearn, mlflow),
    # not whatever "python3" is first on PATH. The session reads these when it starts; they are
    # removed again afterwards so the caller's environment is unchanged.
    defaults = {
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYARROW_IGNORE_TIMEZONE": "1",
    }
    with environment_defaults(defaults):
        from pyspark.sql import SparkSession

        master, remote = spark_target(cfg)
        builder = SparkSession.builder.appName(app)
        if remote:
            builder = builder.remote(remote)
        else:
            builder = (
                builder.master(master)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", os.environ["SPARK_LOCAL_IP"])
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
        builder = builder.config("spark.sql.session.timeZone", "UTC")
        for key, value in cfg.conf.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()


def writes_delta(spark: Any) -> bool:
    """Whether this Spark can write ``format("delta")`` itself: Delta Lake on a classic cluster's
    classpath, Sail, a Databricks cluster. Asked through the DataFrame API (resolving a Delta
    read of a path that does not exist), so it works the same over Spark Connect, where there
    is no JVM to ask: a Spark without Delta says the data source is unknown; one with it says
    the path holds no table."""
    probe = f"/nonexistent/mlrecipes-delta-probe-{uuid.uuid4().hex}"
    try:
        spark.read.format("delta").load(probe).schema  # noqa: B018 (resolves the read)
    # the server's error, in whatever class its client raises (Py4J, Spark Connect, gRPC)
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        return not ("DATA_SOURCE_NOT_FOUND" in text or "Failed to find the data source" in text)
    return True


def read_source(spark: Any, source: IngestConfig, root: Path, block: str) -> Any:
    """A Spark DataFrame of a parquet or Delta source (CSV with Spark's own type inference)."""
    from mlrecipes.io.fingerprint import resolve_sources

    paths = [str(p) for p in resolve_sources(source, root, block).paths]
    if source.using == "parquet":
        return spark.read.parquet(*paths)
    if source.using == "delta":
        from deltalake import DeltaTable

        files = [u for p in paths for u in DeltaTable(p, version=source.version).file_uris()]
        return spark.read.parquet(*files)
    if source.using == "csv":
        return spark.read.csv(paths, header=True, inferSchema=True)
    from mlrecipes.errors import DatasetError

    raise DatasetError(
        f"steps.{block}.using: {source.using} is not readable by the Spark engine "
        "(parquet, delta or csv)"
    )
