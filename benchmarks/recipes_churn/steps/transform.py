"""Featurization for telco churn: derived features, then impute / scale / one-hot in one pipeline.

Everything here is fitted on the training split only and travels inside the registered model, so
training and scoring transform rows identically (blank TotalCharges included).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

ID_COLUMNS = ["customerID"]
SERVICE_COLUMNS = [
    "PhoneService", "MultipleLines", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies",
]  # fmt: skip
CATEGORICAL = [
    "gender", "Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
    "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
    "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod",
]  # fmt: skip
NUMERIC = [
    "SeniorCitizen", "tenure", "log_tenure", "MonthlyCharges", "avg_charge_per_month", "num_services",
]  # fmt: skip
DERIVED = ["log_tenure", "avg_charge_per_month", "num_services"]


def add_features(df: pd.DataFrame) -> pd.DataFrame:
    """TotalCharges to numbers (blank -> NaN) plus the derived features; ids dropped.

    Identifiers are not features; the model still accepts them in its input rows, so scoring
    outputs can carry them.
    """
    out = df.drop(columns=[c for c in ID_COLUMNS if c in df.columns])
    out["TotalCharges"] = pd.to_numeric(out["TotalCharges"], errors="coerce")
    tenure = pd.to_numeric(out["tenure"], errors="coerce")
    # Churn risk falls fastest in the first months: log tenure lets a linear model see that.
    out["log_tenure"] = np.log1p(tenure.clip(lower=0))
    # Average charge per month of tenure; undefined for brand-new customers (imputed later).
    out["avg_charge_per_month"] = out["TotalCharges"] / tenure.where(tenure > 0)
    out["num_services"] = (out[SERVICE_COLUMNS] == "Yes").sum(axis=1).astype(float)
    out["InternetService"] = out["InternetService"].fillna("No")
    return out


def _feature_names(_transformer, names):
    kept = [n for n in names if n not in ID_COLUMNS]
    return np.asarray([*kept, *DERIVED], dtype=object)


def transformer_fn():
    """Unfitted transformer; the recipe fits it on the training split (raw columns, no target)."""
    encode = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            # A blank TotalCharges means tenure 0: nothing billed yet, so 0 is the right value.
            (
                "total_charges",
                make_pipeline(SimpleImputer(strategy="constant", fill_value=0.0), StandardScaler()),
                ["TotalCharges"],
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL,
            ),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [
            ("features", FunctionTransformer(add_features, feature_names_out=_feature_names)),
            ("encode", encode),
        ]
    )
