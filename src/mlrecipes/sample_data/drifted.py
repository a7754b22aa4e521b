"""Months of one customer base whose world changes (the demo's story, and ``mlrecipes
sample-data --months N --drift-from K --labels``): pure frames, and a writer.

Each snapshot holds every customer's attributes at the month's end and whether they churned that
month (``Churn``), drawn from the generator's churn drivers. From ``drift_from`` on, two things
change at once, as in the seed story ("model performance has degraded"):

- covariates: fiber gets pricier (+20 a month) and a share of customers move to month-to-month
  contracts, so the input monitors see it;
- concept: customers paying by mailed check start churning much more (a billing change), which a
  model trained before cannot know; only labels show it, and retraining on them repairs it.

The churn rate before the drift is held at the generator's (26.5%).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlrecipes.sample_data.telco import (
    COLUMNS,
    TARGET_CHURN_RATE,
    calibrate_intercept,
    churn_logit,
    generate,
)

MAILED_CHECK_EFFECT = 2.2  # added to the churn logit of mailed-check payers once drifted
FIBER_PRICE_RISE = 20.0


def _money(values: pd.Series) -> list[str]:
    return [f"{v:.2f}".rstrip("0").rstrip(".") for v in values]


def drifted_months(
    customers: int = 2000, months: int = 5, drift_from: int = 1, seed: int = 7,
    start: str = "2026-01-31",
) -> list[pd.DataFrame]:  # fmt: skip
    """One frame per month (``snapshot_date`` first, then the telco columns)."""
    base = generate(customers, seed)
    # not default_rng(seed): the generator drew the customers from that very stream, and the same
    # numbers again made churn follow how the customers were drawn (contracts, above all)
    rng = np.random.default_rng((seed, 1))
    logit = churn_logit(base)
    intercept = calibrate_intercept(logit, TARGET_CHURN_RATE)
    dates = pd.date_range(pd.Timestamp(start), periods=months, freq="ME")
    frames = []
    current = base.copy()
    for month, date in enumerate(dates):
        if month > 0:
            current["tenure"] = current["tenure"] + 1
            total = pd.to_numeric(current["TotalCharges"], errors="coerce").fillna(0.0)
            current["TotalCharges"] = _money(total + current["MonthlyCharges"])
        if month == drift_from:
            fiber = current["InternetService"] == "Fiber optic"
            current.loc[fiber, "MonthlyCharges"] = (
                current.loc[fiber, "MonthlyCharges"] + FIBER_PRICE_RISE
            )
            moving = (current["Contract"] != "Month-to-month") & (rng.random(len(current)) < 0.35)
            current.loc[moving, "Contract"] = "Month-to-month"
        drifted = month >= drift_from
        z = churn_logit(current) + intercept
        if drifted:
            z = z + MAILED_CHECK_EFFECT * (current["PaymentMethod"] == "Mailed check").to_numpy()
        churned = rng.random(len(current)) < 1 / (1 + np.exp(-z))
        current["Churn"] = np.where(churned, "Yes", "No")
        frames.append(
            current.assign(snapshot_date=date.date().isoformat())[["snapshot_date", *COLUMNS]]
        )
    return frames


LABELLED_AT = "labelled_at"


def outcomes(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The labels as they arrive: month ``m``'s churn (the outcome of the window scored at the
    end of month ``m-1``) recorded at month ``m``'s date; the first month's churn is no window's
    outcome, and the last window's has not arrived."""
    return pd.concat(
        [
            f[["customerID", "Churn"]].assign(**{LABELLED_AT: f["snapshot_date"]})
            for f in frames[1:]
        ],
        ignore_index=True,
    )


def write_drifted_months(
    folder: Path | str, rows: int, months: int, drift_from: int | None, seed: int, labels: bool
) -> list[Path]:
    """One CSV per month (``telco_<YYYY-MM>.csv``, scoring input with its snapshot date), drifted
    from month ``drift_from`` (0-based; None: never), and with ``labels`` a ``labels.csv`` of
    the outcomes as they arrive. Each file appears whole (written aside, then renamed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = drifted_months(rows, months, months if drift_from is None else drift_from, seed)
    parts = [(folder / f"telco_{f['snapshot_date'].iloc[0][:7]}.csv", f) for f in frames]
    if labels:
        parts.append((folder / "labels.csv", outcomes(frames)))
    for path, frame in parts:
        tmp = path.with_name(f".{path.name}.tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    return [path for path, _ in parts]
