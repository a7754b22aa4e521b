"""Feature tables for MLflow 3 on a laptop: Delta tables with Databricks' feature-engineering
names, so a recipe moves to a workspace by changing the backend, not the code.

```python
from mlrecipes.features import FeatureEngineeringClient, FeatureLookup

fe = FeatureEngineeringClient(root="data/feature_store/local")      # or Recipe(...).feature_store()
fe.create_table(name="churn_features", primary_keys=["customerID"], timestamp_keys="snapshot_date", df=features)
fe.write_table(name="churn_features", df=next_month, mode="append")
training = fe.create_training_set(df=labels, feature_lookups=[FeatureLookup(
    table_name="churn_features", lookup_key="customerID", timestamp_lookup_key="snapshot_date")],
    label="Churn", exclude_columns=["snapshot_date"])
training.load_df()
fe.score_batch(model_uri="models:/churn@champion", df=keys)
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DeltaFeatureStore",
    "FeatureEngineeringClient",
    "FeatureLookup",
    "FeatureSpec",
    "TrainingSet",
]


def __getattr__(name: str) -> Any:
    # lazy: importing the package loads neither pandas nor deltalake
    if name in ("FeatureLookup", "FeatureSpec"):
        from mlrecipes.features import spec

        return getattr(spec, name)
    if name == "DeltaFeatureStore":
        from mlrecipes.features.delta_store import DeltaFeatureStore

        return DeltaFeatureStore
    if name == "TrainingSet":
        from mlrecipes.features.training_set import TrainingSet

        return TrainingSet
    if name == "FeatureEngineeringClient":
        from mlrecipes.features.client import FeatureEngineeringClient

        return FeatureEngineeringClient
    raise AttributeError(f"module 'mlrecipes.features' has no attribute {name!r}")
