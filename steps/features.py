"""Featurization that belongs in a shared feature table (the `features` step, feature-store
profiles): computed once per snapshot, reused by every model that looks it up.

What stays in the model instead (steps/transform.py): imputation, scaling, one-hot encoding, the
per-model choices that are easier to iterate on and cost nothing extra in production. Row by row
only (no aggregates over rows): the step runs this batch by batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SERVICE_COLUMNS = [
    "PhoneService", "MultipleLines", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies",
]  # fmt: skip
TENURE_BANDS = [-1, 6, 12, 24, 48, np.inf]
TENURE_LABELS = ["0-6", "7-12", "13-24", "25-48", "49+"]


def compute_features(df: pd.DataFrame) -> pd.DataFrame:
    """The raw columns, TotalCharges as a number, and the shared derived features."""
    out = df.copy()
    # blank for customers with tenure 0: nothing billed yet
    out["TotalCharges"] = pd.to_numeric(out["TotalCharges"], errors="coerce").fillna(0.0)
    tenure = pd.to_numeric(out["tenure"], errors="coerce")
    out["tenure_band"] = pd.cut(tenure, TENURE_BANDS, labels=TENURE_LABELS).astype(str)
    out["num_services"] = (out[SERVICE_COLUMNS] == "Yes").sum(axis=1).astype("int64")
    # this month's charge against the average so far: > 1 after a price rise
    average = out["TotalCharges"] / tenure.where(tenure > 0)
    out["charge_ratio"] = (out["MonthlyCharges"] / average).astype("float64")
    return out
