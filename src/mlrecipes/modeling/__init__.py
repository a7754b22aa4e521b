"""Modeling: estimators, metrics, evaluation, splitting, tuning and data checks; pure functions over frames and arrays (no MLflow, no files)."""
