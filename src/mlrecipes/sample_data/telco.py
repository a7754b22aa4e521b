"""A synthetic telco churn table with the IBM Telco Customer Churn schema and its quirks.

Deterministic for a seed, any row count. Marginals follow the public data (55% month-to-month,
44% fiber optic, 34% electronic check, 26.5% churn), with the dependencies that drive churn there:
month-to-month contracts, fiber optic, electronic checks, short tenure and missing support services
raise it. ``TotalCharges`` is a string column, about tenure × MonthlyCharges, and blank (" ") for the
rare customers with tenure 0, exactly like the real file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "customerID", "gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
    "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies", "Contract", "PaperlessBilling", "PaymentMethod",
    "MonthlyCharges", "TotalCharges", "Churn",
]  # fmt: skip
TARGET_CHURN_RATE = 0.265
ZERO_TENURE_SHARE = 11 / 7043
PAYMENT_METHODS = [
    "Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)",
]  # fmt: skip
ADD_ONS = {  # share of internet customers with each service, monthly price
    "OnlineSecurity": (0.37, 6.0),
    "OnlineBackup": (0.44, 6.0),
    "DeviceProtection": (0.44, 6.5),
    "TechSupport": (0.37, 6.0),
    "StreamingTV": (0.49, 10.0),
    "StreamingMovies": (0.50, 10.0),
}


def _yes_no(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, "Yes", "No")


def _customer_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    digits = rng.integers(0, 10_000, size=n)
    codes = rng.choice(letters, size=(n, 5))
    ids = np.char.add(
        np.char.add(np.char.zfill(digits.astype(str), 4), "-"),
        codes.astype(object).sum(axis=1).astype(str),
    )
    # make them unique (duplicates are astronomically rare, but be exact)
    _, first = np.unique(ids, return_index=True)
    dup = np.setdiff1d(np.arange(n), first)
    ids[dup] = np.char.add(ids[dup], np.char.mod("%d", dup))
    return ids


def generate(rows: int = 7043, seed: int = 42) -> pd.DataFrame:
    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = np.random.default_rng(seed)
    n = rows
    frame = _customers(rng, n)
    logit = churn_logit(frame)  # one definition of the churn drivers, also used by snapshots
    intercept = calibrate_intercept(logit, TARGET_CHURN_RATE)
    churn = rng.random(n) < 1 / (1 + np.exp(-(logit + intercept)))
    tenure = frame["tenure"].to_numpy()
    total = tenure * frame["MonthlyCharges"].to_numpy() * rng.normal(1.0, 0.04, n)
    total_str = np.array([f"{t:.2f}".rstrip("0").rstrip(".") for t in total], dtype=object)
    total_str[tenure == 0] = " "
    # the draws keep the generator's original order, so a seed gives the same table as before
    frame["customerID"] = _customer_ids(rng, n)
    frame["gender"] = rng.choice(["Male", "Female"], size=n, p=[0.505, 0.495])
    frame["TotalCharges"] = total_str
    frame["Churn"] = _yes_no(churn)
    return frame[COLUMNS]


def _customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Demographics, contract, tenure, services, charges and billing of ``n`` customers."""
    senior = rng.random(n) < 0.162
    partner = rng.random(n) < 0.483
    dependents = rng.random(n) < np.where(partner, 0.52, 0.10)

    contract = rng.choice(["Month-to-month", "One year", "Two year"], size=n, p=[0.55, 0.21, 0.24])
    mean_tenure = np.select(
        [contract == "Month-to-month", contract == "One year"], [18.0, 44.0], default=62.0
    )
    tenure = np.clip(np.round(rng.gamma(shape=1.6, scale=mean_tenure / 1.6)), 1, 72).astype(int)
    tenure[rng.random(n) < ZERO_TENURE_SHARE] = 0

    phone = rng.random(n) < 0.903
    multiple = phone & (rng.random(n) < 0.47)
    internet = rng.choice(["Fiber optic", "DSL", "No"], size=n, p=[0.44, 0.34, 0.22])
    has_net = internet != "No"
    services = {}
    for name, (share, _) in ADD_ONS.items():
        boost = 1.25 if name in ("OnlineSecurity", "TechSupport", "OnlineBackup") else 1.0
        p = np.where(contract == "Two year", min(share * boost * 1.35, 0.9), share)
        services[name] = has_net & (rng.random(n) < p)

    monthly = np.where(phone, 20.0, 0.0) + np.where(multiple, 5.0, 0.0)
    monthly += np.select([internet == "Fiber optic", internet == "DSL"], [50.0, 25.0], default=0.0)
    for name, (_, price) in ADD_ONS.items():
        monthly += np.where(services[name], price, 0.0)
    monthly = monthly + rng.normal(0, 2.0, n) + np.where(~phone & ~has_net, 20.0, 0.0)
    monthly = np.clip(np.round(monthly * 20) / 20, 18.25, 118.75)

    payment = rng.choice(PAYMENT_METHODS, size=n, p=[0.336, 0.229, 0.219, 0.216])
    paperless = rng.random(n) < np.where(has_net, 0.68, 0.29)

    def with_net(mask: np.ndarray) -> np.ndarray:
        return np.where(has_net, _yes_no(mask), "No internet service")

    return pd.DataFrame(
        {
            "SeniorCitizen": senior.astype(int),
            "Partner": _yes_no(partner),
            "Dependents": _yes_no(dependents),
            "tenure": tenure,
            "PhoneService": _yes_no(phone),
            "MultipleLines": np.where(phone, _yes_no(multiple), "No phone service"),
            "InternetService": internet,
            **{name: with_net(mask) for name, mask in services.items()},
            "Contract": contract,
            "PaperlessBilling": _yes_no(paperless),
            "PaymentMethod": payment,
            "MonthlyCharges": monthly,
        }
    )


def calibrate_intercept(logit: np.ndarray, rate: float) -> float:
    """Intercept making the expected churn rate equal ``rate`` (bisection, deterministic)."""
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(logit + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def churn_logit(frame: pd.DataFrame) -> np.ndarray:
    """The generator's churn drivers, from a table's own columns (intercept excluded)."""
    tenure = pd.to_numeric(frame["tenure"]).to_numpy(dtype=float)
    monthly = frame["MonthlyCharges"].to_numpy(dtype=float)

    def yes(column: str) -> np.ndarray:
        return (frame[column] == "Yes").to_numpy()

    contract, internet = frame["Contract"].to_numpy(), frame["InternetService"].to_numpy()
    return (
        -1.1 * (contract == "One year")
        - 2.3 * (contract == "Two year")
        + 0.85 * (internet == "Fiber optic")
        - 0.8 * (internet == "No")
        + 0.6 * (frame["PaymentMethod"].to_numpy() == "Electronic check")
        + 0.3 * yes("PaperlessBilling")
        + 0.3 * (frame["SeniorCitizen"].to_numpy() == 1)
        - 0.15 * yes("Partner")
        - 0.2 * yes("Dependents")
        - 0.45 * yes("OnlineSecurity")
        - 0.4 * yes("TechSupport")
        + 0.15 * yes("StreamingTV")
        + 0.15 * yes("StreamingMovies")
        - 0.95 * np.log1p(tenure)
        + 0.012 * (monthly - 65)
    )


def generate_snapshots(
    rows: int = 7043, months: int = 3, seed: int = 42, start: str = "2026-01-31"
) -> pd.DataFrame:
    """Monthly snapshots of one customer base (a ``snapshot_date`` column, month ends): each month
    the customers who churned are gone, the others are a month older (tenure + 1, TotalCharges +
    MonthlyCharges) and churn again with the same drivers, and new customers join (as many as
    left). Point-in-time lookups have real history to get right."""
    rng = np.random.default_rng(seed + 10_000)
    current = generate(rows, seed)
    intercept = calibrate_intercept(churn_logit(current), TARGET_CHURN_RATE)
    dates = pd.date_range(pd.Timestamp(start), periods=months, freq="ME")
    frames = []
    for month, date in enumerate(dates):
        frames.append(current.assign(snapshot_date=date.date().isoformat()))
        if month == len(dates) - 1:
            break
        stay = current[current["Churn"] == "No"].copy()
        total = pd.to_numeric(stay["TotalCharges"], errors="coerce").fillna(0.0)
        stay["tenure"] = stay["tenure"] + 1
        total = total + stay["MonthlyCharges"]
        stay["TotalCharges"] = [f"{t:.2f}".rstrip("0").rstrip(".") for t in total]
        joined = generate(rows - len(stay), seed + month + 1)
        joined["customerID"] = [f"{cid}-M{month + 1}" for cid in joined["customerID"]]
        joined["tenure"] = 1
        joined["TotalCharges"] = [
            f"{m:.2f}".rstrip("0").rstrip(".") for m in joined["MonthlyCharges"]
        ]
        current = pd.concat([stay, joined], ignore_index=True)
        p = 1 / (1 + np.exp(-(churn_logit(current) + intercept)))
        current["Churn"] = _yes_no(rng.random(len(current)) < p)
    return pd.concat(frames, ignore_index=True)[["snapshot_date", *COLUMNS]]


def write_snapshots(
    folder: Path | str, rows: int = 7043, months: int = 3, seed: int = 42
) -> list[Path]:
    """One CSV per month (``telco_<YYYY-MM>.csv``) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for date, frame in generate_snapshots(rows, months, seed).groupby("snapshot_date", sort=True):
        path = folder / f"telco_{date[:7]}.csv"
        tmp = path.with_name(f".{path.name}.tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
        written.append(path)
    return written


def write_sample(path: Path | str, rows: int = 7043, seed: int = 42) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = generate(rows, seed)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def write_sample_parquet_in_chunks(
    path: Path | str, rows: int, seed: int = 42, chunk_rows: int = 1_000_000
) -> Path:
    """Large samples (10M rows) in bounded memory: chunk i uses seed + i, appended to one file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = None
    try:
        for index, start in enumerate(range(0, rows, chunk_rows)):
            table = pa.Table.from_pandas(
                generate(min(chunk_rows, rows - start), seed + index), preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path
