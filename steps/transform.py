"""Featurization: derived features, then impute / scale / one-hot in one pipeline.

Everything here is fitted on the training split only and travels inside the registered model, so
training and scoring transform rows identically (blank TotalCharges included).

To adapt the template to another table, edit only the declaration below: the rest reads the
columns from the data (numbers are imputed and scaled, everything else is one-hot encoded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

# ---------------------------------------------------------------------------- declaration
# Identifiers: kept in the rows the model takes (scoring outputs carry them), never features.
ID_COLUMNS = ["customerID"]
# Numbers stored as text, and the value a blank means. TotalCharges is blank for customers with
# tenure 0: nothing billed yet, so 0.
TEXT_NUMBERS = {"TotalCharges": 0.0}
SERVICE_COLUMNS = [
    "PhoneService", "MultipleLines", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies",
]  # fmt: skip


def derive(df: pd.DataFrame) -> dict[str, pd.Series]:
    """Derived features from the raw columns (after TEXT_NUMBERS are numbers): name -> values."""
    tenure = pd.to_numeric(df["tenure"], errors="coerce")
    return {
        # Churn risk falls fastest in the first months: log tenure lets a linear model see that.
        "log_tenure": np.log1p(tenure.clip(lower=0)),
        # Average charge per month of tenure; undefined for brand-new customers (imputed).
        "avg_charge_per_month": df["TotalCharges"] / tenure.where(tenure > 0),
        "num_services": (df[SERVICE_COLUMNS] == "Yes").sum(axis=1).astype(float),
    }


# ------------------------------------------------------------- generic: no edits needed below
def add_features(df: pd.DataFrame) -> pd.DataFrame:
    """Drops ID_COLUMNS, parses TEXT_NUMBERS, adds ``derive``'s columns."""
    out = df.drop(columns=[c for c in ID_COLUMNS if c in df.columns])
    for column, blank in TEXT_NUMBERS.items():
        if column in out.columns:
            out[column] = pd.to_numeric(out[column], errors="coerce").fillna(blank)
    return out.assign(**derive(out))


def _feature_names(_transformer, names) -> np.ndarray:
    """The output columns, from the input names alone (``derive`` on an empty frame): functions,
    not a class, so the fitted model pickles to the same bytes in every process (the cache)."""
    return np.asarray(add_features(pd.DataFrame(columns=list(names))).columns, dtype=object)


def transformer_fn():
    """Unfitted transformer; the recipe fits it on the training split (raw columns, no target)."""
    encode = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                make_column_selector(dtype_exclude="number"),
            ),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    features = FunctionTransformer(add_features, feature_names_out=_feature_names)
    return Pipeline([("features", features), ("encode", encode)])
