"""The Spark engine of the features step: featurization as a Spark job (the recipe's pandas
function on each partition, ``mapInPandas``), on ``local[*]`` unless a master or Spark Connect
URL is configured.

Tables are written as Delta directly when Delta Lake is on the classpath; without it (a laptop
without Maven access), Spark writes parquet to a staging folder and the rows are committed to the
Delta table with ``deltalake`` through the same schema and conflict checks as the pandas engine.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

LABEL = "__mlrecipes_label__"


def featurize_with_spark(
    root: Path, out_dir: Path, cfg: Any, featurize: Any, label: str, stamp: datetime
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame | None]]:
    """(features, labels) batches computed by a Spark job: the rows stay on the executors
    until they stream into the Delta commit. ``cfg`` is the features step's block; Spark stages
    its output under ``out_dir``."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    from pyspark.sql.pandas.types import from_arrow_schema

    from mlrecipes.features.fingerprints import ROW_HASH
    from mlrecipes.features.snapshot import split_snapshot
    from mlrecipes.io.batches import streamed
    from mlrecipes.io.spark import read_source, spark_session
    from mlrecipes.io.user_code import pickled_by_value

    spark = spark_session(cfg.spark, "mlrecipes-features")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    frame = read_source(spark, cfg.source, root, "features.source")
    keys, ts = cfg.feature_table.primary_keys, cfg.feature_table.timestamp_key

    def both(raw: pd.DataFrame) -> pd.DataFrame:
        features, labels = split_snapshot(
            raw, featurize, keys, ts, label, stamp, cfg.source.numeric_columns
        )
        if labels is not None:
            features[LABEL] = labels[label].to_numpy()
        return features

    sample = both(frame.limit(200).toPandas())
    schema = from_arrow_schema(pa.Schema.from_pandas(sample, preserve_index=False))

    def per_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for raw in batches:
            yield both(raw)

    staging = out_dir / f".spark-{uuid.uuid4().hex[:8]}"
    from pyspark import cloudpickle as spark_cloudpickle

    # the recipe's function travels to the workers by value (PySpark pickles with its own copy)
    with pickled_by_value(root, (spark_cloudpickle,)):
        # files of at most a batch: a parquet row group is read whole when it is committed
        frame.mapInPandas(per_partition, schema).write.mode("overwrite").option(
            "maxRecordsPerFile", cfg.batch_size
        ).parquet(str(staging))
    try:
        dataset = ds.dataset(str(staging), format="parquet")
        feature_columns = [c for c in dataset.schema.names if c != LABEL]
        has_label = LABEL in dataset.schema.names
        features = (b.to_pandas() for b in streamed(dataset, cfg.batch_size, feature_columns))
        labels = (
            b.to_pandas().rename(columns={LABEL: label})
            for b in streamed(dataset, cfg.batch_size, [*keys, ts, LABEL, ROW_HASH])
        ) if has_label else iter(())  # fmt: skip
        yield from itertools.zip_longest(features, labels)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
