"""``FeatureEngineeringClient``: Databricks' feature-engineering calls over the Delta backend (or,
with ``backend="databricks"``, over Databricks' own client, same calls)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlrecipes.features.delta_store import DeltaFeatureStore, TableInfo, WriteResult
from mlrecipes.features.spec import FeatureLookup, FeatureSpec
from mlrecipes.features.training_set import TrainingSet, create_training_set, features_for_keys


class FeatureEngineeringClient:
    """Feature tables under ``root`` (a profile's feature store), with Databricks' method names
    and keyword arguments where they mean the same thing."""

    def __new__(cls, root: str | Path | None = None, backend: str = "delta", **kwargs: Any) -> Any:
        if backend == "databricks":
            from mlrecipes.features.databricks import databricks_client

            return databricks_client(**kwargs)
        if backend != "delta":
            raise ValueError(f"backend {backend!r}: expected 'delta' or 'databricks'")
        return super().__new__(cls)

    def __init__(self, root: str | Path | None = None, backend: str = "delta", **kwargs: Any):
        if root is None:
            raise ValueError("root: the folder holding this profile's feature tables is required")
        self.store = DeltaFeatureStore(root)

    def create_table(
        self,
        name: str,
        primary_keys: str | list[str],
        df: pd.DataFrame | None = None,
        *,
        timestamp_keys: str | list[str] | None = None,
        timeseries_columns: str | list[str] | None = None,
        schema: Any = None,
        description: str = "",
    ) -> TableInfo:
        """Create the table (from ``df``'s schema, or ``schema``) and write ``df`` if given.
        ``timestamp_keys`` (or the older ``timeseries_columns``) names the snapshot time."""
        import pyarrow as pa

        stamp = timestamp_keys if timestamp_keys is not None else timeseries_columns
        if isinstance(stamp, list):
            if len(stamp) != 1:
                raise ValueError("one timestamp key per feature table")
            stamp = stamp[0]
        if schema is None:
            if df is None:
                raise ValueError("create_table needs df or schema")
            schema = pa.Schema.from_pandas(df, preserve_index=False).remove_metadata()
        info = self.store.create_table(name, primary_keys, schema, stamp, description)
        if df is not None and not df.empty:
            self.store.write_table(name, df, mode="append")
            info = self.store.info(name)
        return info

    def write_table(
        self, name: str, df: pd.DataFrame, mode: str = "merge", schema_evolution: bool = False
    ) -> WriteResult:
        return self.store.write_table(name, df, mode=mode, schema_evolution=schema_evolution)

    def read_table(self, name: str, version: int | None = None) -> pd.DataFrame:
        return self.store.read_table(name, version=version)

    def get_table(self, name: str) -> TableInfo:
        return self.store.info(name)

    def drop_table(self, name: str) -> None:
        self.store.drop_table(name)

    def create_training_set(
        self,
        df: pd.DataFrame,
        feature_lookups: Sequence[FeatureLookup],
        label: str | None,
        exclude_columns: Sequence[str] = (),
        on_missing: str = "null",
    ) -> TrainingSet:
        return create_training_set(
            self.store, df, feature_lookups, label, exclude_columns, on_missing
        )

    def score_batch(
        self,
        model_uri: str,
        df: pd.DataFrame,
        as_of: datetime | str | None = None,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
    ) -> pd.DataFrame:
        """``df`` (keys, optionally a timestamp) with the features the model's own spec names
        and the model's predictions (as ``score_batch`` does on Databricks)."""
        from mlrecipes.tracking.models import load_with_feature_spec

        model, spec_text = load_with_feature_spec(model_uri, tracking_uri, registry_uri)
        if spec_text is None:
            raise ValueError(
                f"{model_uri} was not trained from feature tables: it has no feature spec"
            )
        inputs = features_for_keys(self.store, df, FeatureSpec.from_json(spec_text), as_of).frame
        predictions = model.predict(inputs)
        if not isinstance(predictions, pd.DataFrame):
            predictions = pd.DataFrame({"prediction": predictions}, index=inputs.index)
        return pd.concat([inputs, predictions.set_axis(inputs.index)], axis=1)
