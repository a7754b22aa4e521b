"""The point-in-time join done by Spark (a range join and a window): the feature table is read
and joined on the executors, never collected; only the training set (the spine with its
features, which scikit-learn needs on one machine anyway) comes back to the driver."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlrecipes.errors import DatasetError

ROW = "__mlrecipes_row__"


def point_in_time_with_spark(
    spark: Any,
    spine: pd.DataFrame,
    table_location: str,
    version: int,
    spine_keys: list[str],
    table_keys: list[str],
    features: list[str],
    outputs: list[str],
    spine_time: str | None,
    table_time: str | None,
) -> tuple[pd.DataFrame, int]:
    """The point-in-time lookup of ``point_in_time.lookup`` done by Spark: the feature table is
    read and joined on the executors (keys equal, snapshot time at or before the spine's), the
    latest match per spine row kept by a window; the spine (keys, times, label) comes from the
    driver and keeps its row order. Returns the spine with the features, and the unmatched count."""
    from deltalake import DeltaTable
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from mlrecipes.features.point_in_time import as_naive_ns
    from mlrecipes.stats.keys import normalised_key, spark_normalised_key

    left_pdf = spine.reset_index(drop=True).assign(**{ROW: range(len(spine))})
    key_cols = [f"__k{i}" for i in range(len(spine_keys))]
    for alias, key in zip(key_cols, spine_keys, strict=True):
        left_pdf[alias] = normalised_key(left_pdf[key]).astype(object)  # the loop's key rule
    time_col = "__mlrecipes_time__"
    if spine_time is not None and table_time is not None:
        left_pdf[time_col] = as_naive_ns(left_pdf[spine_time])
    left = spark.createDataFrame(
        left_pdf[[ROW, *key_cols, *([time_col] if time_col in left_pdf else [])]]
    )
    files = DeltaTable(table_location, version=version).file_uris()
    table = spark.read.parquet(*files)
    right = table.select(
        *[spark_normalised_key(F, F.col(k)).alias(f"__t{i}") for i, k in enumerate(table_keys)],
        *([F.col(table_time).alias("__tt")] if table_time else []),
        *[F.col(f).alias(o) for f, o in zip(features, outputs, strict=True)],
    ).withColumn("__found", F.lit(True))
    condition = [F.col(a) == F.col(f"__t{i}") for i, a in enumerate(key_cols)]
    if time_col in left_pdf:
        condition.append(F.col("__tt") <= F.col(time_col))
    joined = left.join(right, on=condition, how="left")
    if table_time:
        latest = Window.partitionBy(ROW).orderBy(F.col("__tt").desc_nulls_last())
        joined = joined.withColumn("__rank", F.row_number().over(latest)).where("__rank = 1")
    result = joined.select(ROW, "__found", *outputs).toPandas().sort_values(ROW)
    if len(result) != len(spine):
        raise DatasetError(
            f"the feature table at {table_location} holds several rows for some keys "
            f"{table_keys} (no timestamp key to choose between them)"
        )
    missing = int(result["__found"].isna().sum())
    out = spine.copy()
    for column in outputs:
        out[column] = result[column].to_numpy()
    return out, missing
