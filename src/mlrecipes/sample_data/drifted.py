"""Months of one customer base whose world changes (the demo's story, and ``mlrecipes
sample-data --months N --drift-from K --labels``): pure frames, and a writer.

Each snapshot holds every customer's attributes at the month's end and whether they churned
during that month (``Churn``). A customer's churn in month ``m`` is decided by how they stood
entering it (their attributes at the end of month ``m-1``) in the world of month ``m-1``: the
outcome a model scored at the end of month ``m-1`` is asked to predict. So monitoring, which
takes a window's labels from the next snapshot, measures each window against labels of the same
world as its inputs (#25: drawn from the month they were recorded in, month 0's labels came
from the drifted world, and the demo's "steady state" was its worst month).

From ``drift_from`` on, two things change at once, as in the seed story ("model performance has
degraded"):

- covariates: fiber gets pricier (+20 a month) and a share of customers move to month-to-month
  contracts, so the input monitors see it;
- concept: customers paying by mailed check start churning much more (a billing change), which a
  model trained before cannot know; only labels show it (from the next month's snapshot on), and
  retraining on them repairs it.

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

MAILED_CHECK_EFFECT = 3.0  # added to the churn logit of mailed-check payers once drifted
FIBER_PRICE_RISE = 20.0


def _money(values: pd.Series) -> list[str]:
    return [f"{v:.2f}".rstrip("0").rstrip(".") for v in values]


def drifted_months(
    customers: int = 2000, months: int = 6, drift_from: int = 2, seed: int = 7,
    start: str = "2026-01-31",
) -> list[pd.DataFrame]:  # fmt: skip
    """One frame per month (``snapshot_date`` first, then the telco columns). Months
    ``0 .. drift_from-1`` are steady, inputs and outcomes alike."""
    base = generate(customers, seed)
    # not default_rng(seed): the generator drew the customers from that very stream, and the same
    # numbers again made churn follow how the customers were drawn (contracts, above all)
    rng = np.random.default_rng((seed, 1))
    intercept = calibrate_intercept(churn_logit(base), TARGET_CHURN_RATE)
    dates = pd.date_range(pd.Timestamp(start), periods=months, freq="ME")
    frames = []
    current = base.copy()
    entering = current.copy()  # how customers stood entering the month (month 0: as they are)
    for month, date in enumerate(dates):
        if month > 0:
            entering = current.copy()
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
        # the world the month's churn is decided in: the previous month's (month 0: its own)
        z = churn_logit(entering) + intercept
        if max(month - 1, 0) >= drift_from:
            z = z + MAILED_CHECK_EFFECT * (entering["PaymentMethod"] == "Mailed check").to_numpy()
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
