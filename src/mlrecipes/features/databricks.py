"""The Databricks backend: Databricks' own ``FeatureEngineeringClient`` (Unity Catalog tables),
which takes the same calls. Only with the optional extra ``mlrecipes[databricks]`` and a
workspace (``DATABRICKS_HOST`` / ``DATABRICKS_TOKEN``); nothing here runs without one."""

from __future__ import annotations

from typing import Any


def databricks_client(**kwargs: Any) -> Any:
    try:
        from databricks.feature_engineering import FeatureEngineeringClient
    except ImportError as exc:
        raise ImportError(
            "backend='databricks' needs Databricks' feature engineering client: "
            "pip install 'mlrecipes[databricks]' (databricks-feature-engineering), and a "
            "workspace (DATABRICKS_HOST, DATABRICKS_TOKEN)"
        ) from exc
    return FeatureEngineeringClient(**kwargs)
