"""Write the sample REST payloads from the project's own generated data (deterministic).

Usage: python requests/build_payloads.py   (rewrites requests/*.json payloads, not responses)
"""

from __future__ import annotations

import json
from pathlib import Path

from mlrecipes.datasets.telco import generate

HERE = Path(__file__).resolve().parent


def payload(frame) -> dict:
    features = frame.drop(columns=["Churn"])
    return {
        "dataframe_split": {"columns": list(features.columns), "data": features.values.tolist()}
    }


def main() -> None:
    sample = generate(7043, seed=42)
    cases = {
        "three_customers": sample.iloc[[0, 1, 2]],
        "month_to_month_fiber": sample[
            (sample["Contract"] == "Month-to-month") & (sample["InternetService"] == "Fiber optic")
        ].head(5),
        "new_customer_blank_total_charges": sample[sample["TotalCharges"] == " "].head(1),
    }
    for name, rows in cases.items():
        (HERE / f"{name}.json").write_text(json.dumps(payload(rows), indent=1) + "\n")


if __name__ == "__main__":
    main()
