"""The SparkSession of the Spark engines (predict, features, feature-store ingest)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrecipes.process.environment import environment_defaults

if TYPE_CHECKING:
    from mlrecipes.io.sources import IngestConfig, SparkConfig


def spark_session(cfg: SparkConfig, app: str = "mlrecipes") -> Any:
    """A SparkSession on ``local[*]`` unless ``cfg`` names a master or a Spark Connect URL."""
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

        builder = SparkSession.builder.appName(app)
        if cfg.remote:
            builder = builder.remote(cfg.remote)
        else:
            master = cfg.master or os.environ.get("MLRECIPES_SPARK_MASTER", "local[*]")
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


def delta_on_classpath(spark: Any) -> bool:
    """Whether this Spark can write ``format("delta")`` (Spark Connect sessions have no JVM here)."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return False
    from py4j.protocol import Py4JError

    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName("io.delta.tables.DeltaTable", False, loader)
        return True
    except Py4JError:  # ClassNotFoundException, raised through the gateway
        return False


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
