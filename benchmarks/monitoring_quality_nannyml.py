"""NannyML's side of ``monitoring_quality.py``: runs in benchmarks/.venv-nannyml (NannyML 0.13.1
does not install beside this project's pins: it caps lightgbm and plotly and needs statsmodels).

For each dataset NannyML ships with ground truth: writes its reference and its analysis rows
(targets joined, each row's chunk number) as parquet, and NannyML's per-chunk results as JSON:
CBPE's ROC AUC and F1 estimates and the univariate drift alerts (Jensen-Shannon, NannyML's
defaults), with the seconds each took. Usage: python monitoring_quality_nannyml.py OUT_DIR
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

# NannyML sends usage analytics to api.segment.io unless told not to: nothing leaves this machine
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
import nannyml as nml
import pandas as pd

CHUNK_SIZE = 5000  # rows per chunk, as NannyML's own tutorials use on these datasets

# name: (loader, target column, score column, predicted label column, timestamp or None)
DATASETS = {
    "synthetic_car_loan": (nml.load_synthetic_car_loan_dataset, "repaid", "y_pred_proba", "y_pred"),
    "synthetic_work_from_home": (
        nml.load_synthetic_binary_classification_dataset,
        "work_home_actual",
        "y_pred_proba",
        "y_pred",
    ),
    "us_census_ma_employment": (
        nml.load_us_census_ma_employment_data,
        "employed",
        "predicted_probability",
        "prediction",
    ),
}
NOT_FEATURES = {"id", "timestamp", "period", "year"}


def features(frame: pd.DataFrame, target: str, score: str, label: str) -> list[str]:
    return [c for c in frame.columns if c not in NOT_FEATURES | {target, score, label}]


def main(out: Path) -> None:
    warnings.simplefilter("ignore")
    out.mkdir(parents=True, exist_ok=True)
    for name, (loader, target, score, label) in DATASETS.items():
        reference, analysis, targets = loader()
        analysis = analysis.merge(targets, on="id", how="left", validate="one_to_one")
        columns = features(reference, target, score, label)
        started = time.perf_counter()
        cbpe = nml.CBPE(
            y_pred_proba=score,
            y_pred=label,
            y_true=target,
            metrics=["roc_auc", "f1"],
            chunk_size=CHUNK_SIZE,
            problem_type="classification_binary",
        )
        cbpe.fit(reference)
        estimated = cbpe.estimate(analysis.drop(columns=[target])).filter(period="analysis")
        cbpe_seconds = time.perf_counter() - started
        started = time.perf_counter()
        univariate = nml.UnivariateDriftCalculator(
            column_names=columns,
            chunk_size=CHUNK_SIZE,
            continuous_methods=["jensen_shannon"],
            categorical_methods=["jensen_shannon"],
        )
        univariate.fit(reference)
        drifted = univariate.calculate(analysis).filter(period="analysis").to_df()
        drift_seconds = time.perf_counter() - started
        table = estimated.to_df()
        chunks = []
        for i in range(len(table)):
            chunk = {
                "start": int(table[("chunk", "start_index")].iloc[i]),
                "end": int(table[("chunk", "end_index")].iloc[i]),
                "roc_auc": float(table[("roc_auc", "value")].iloc[i]),
                "f1": float(table[("f1", "value")].iloc[i]),
                "roc_auc_sampling_error": float(table[("roc_auc", "sampling_error")].iloc[i]),
                "f1_sampling_error": float(table[("f1", "sampling_error")].iloc[i]),
                "drift_alerts": sorted(
                    c for c in columns if bool(drifted[(c, "jensen_shannon", "alert")].iloc[i])
                ),
            }
            chunks.append(chunk)
        chunk_of = pd.Series(-1, index=analysis.index)
        for number, chunk in enumerate(chunks):
            chunk_of.iloc[chunk["start"] : chunk["end"] + 1] = number
        analysis = analysis.assign(chunk=chunk_of.to_numpy())
        for frame, part in ((reference, "reference"), (analysis, "analysis")):
            plain = frame.copy()
            for c in plain.columns:  # categoricals as text: read back the same in any pandas
                if isinstance(plain[c].dtype, pd.CategoricalDtype):
                    plain[c] = plain[c].astype(str)
            plain.to_parquet(out / f"{name}_{part}.parquet", index=False)
        (out / f"{name}_nannyml.json").write_text(
            json.dumps(
                {
                    "target": target,
                    "score": score,
                    "label": label,
                    "features": columns,
                    "chunks": chunks,
                    "cbpe_seconds": cbpe_seconds,
                    "drift_seconds": drift_seconds,
                    "nannyml": nml.__version__,
                },
                indent=1,
            )
        )
        print(f"{name}: {len(chunks)} chunks, CBPE {cbpe_seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
