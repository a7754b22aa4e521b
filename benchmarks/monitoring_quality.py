"""How good is the label-free estimate? This project's against NannyML's CBPE, chunk by chunk, on
the datasets NannyML ships with ground truth; and do the drift alerts agree?

Creates (once) benchmarks/.venv-nannyml (NannyML 0.13.1 caps lightgbm and plotly and needs
statsmodels, so it does not install beside this project's pins), where
``monitoring_quality_nannyml.py`` writes each dataset's reference and analysis rows and NannyML's
per-chunk CBPE estimates and univariate drift alerts. Here, on the same rows and chunks, the
monitor step's own functions compute the reference (``reference_summary``: the holdout's
calibration check and map, the estimate's error on the holdout), each chunk's counts, its
estimate with its 90% interval (``estimate_interval``: widened by that error), and its drift
rows (default thresholds); the realized metrics come from scikit-learn on the labels.

Reports per dataset, for ROC AUC and F1: each estimator's mean absolute error against the
realized value, their ratio (goal: ours <= 1.0x NannyML's on every dataset), how often the
realized value fell in each one's interval (ours: 90%; NannyML's: value +- 3 sampling errors);
and the drift agreement per column and chunk (both alert, NannyML only, ours only, neither).
Writes its section of benchmarks/results.md. Usage: python benchmarks/monitoring_quality.py
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import cpu_model, ensure_venv, markdown_table, write_section

from mlrecipes.monitoring.counts import frame_counts
from mlrecipes.monitoring.reference import columns_of, reference_summary, scores_of
from mlrecipes.monitoring.window import DRIFT, Thresholds, estimate_interval, input_rows

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-nannyml"
REQUIREMENTS = ["nannyml==0.13.1", "statsmodels"]
DATASETS = ["synthetic_car_loan", "synthetic_work_from_home", "us_census_ma_employment"]
METRICS = {"roc_auc": "roc_auc", "f1": "f1_score"}  # NannyML's name: ours
RATIO_TARGET = 1.0
# Both compute the same expectation (isotonic map fitted on the reference, then CBPE), so their
# errors tie to about 1e-4 (float order, ours ties scores within a 0.0001-wide cell): a ratio
# within TIE of the target is a tie, not a miss; anything past it is a real difference.
TIE = 0.001


def threshold_of(reference: pd.DataFrame, score: str, label: str) -> float:
    """The cut-off the dataset's predicted labels were made with (NannyML's data gives labels,
    the monitor a cut-off): the lowest score labelled positive, checked to split exactly."""
    cut = float(reference.loc[reference[label] == 1, score].min())
    if not ((reference[score] >= cut).astype(int) == reference[label]).all():
        raise SystemExit(f"{label} is not a cut-off of {score}: no threshold reproduces it")
    return cut


def realized(y: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, roc_auc_score

    return {"roc_auc": float(roc_auc_score(y, scores)), "f1": float(f1_score(y, labels))}


def compare(data: Path, name: str) -> dict:
    meta = json.loads((data / f"{name}_nannyml.json").read_text())
    reference = pd.read_parquet(data / f"{name}_reference.parquet")
    analysis = pd.read_parquet(data / f"{name}_analysis.parquet")
    target, score, label, features = meta["target"], meta["score"], meta["label"], meta["features"]
    cut = threshold_of(reference, score, label)
    started = time.perf_counter()
    ref = reference_summary(
        reference,
        features,
        [],
        (reference[target] == 1).to_numpy(),
        reference[score].to_numpy(),
        cut,
    )
    ours_seconds = time.perf_counter() - started
    columns, score_summary = columns_of(ref), scores_of(ref)
    chunks = []
    for number, theirs in enumerate(meta["chunks"]):
        rows = analysis[analysis["chunk"] == number]
        truth = realized(rows[target].to_numpy(), rows[score].to_numpy(), rows[label].to_numpy())
        started = time.perf_counter()
        counts = frame_counts(rows, columns, score_summary, cut, score_column=score)
        estimate = counts.grid.estimated(ref["calibration"])
        interval = estimate_interval(ref["calibration"], counts.grid)
        drift_rows = input_rows(ref, counts, Thresholds())
        ours_seconds += time.perf_counter() - started
        chunk = {"rows": len(rows), "ours_drift": sorted(
            {r.column for r in drift_rows if r.kind == DRIFT and r.status == "alert"}
        ), "theirs_drift": theirs["drift_alerts"]}  # fmt: skip
        for nml_name, our_name in METRICS.items():
            low, high = interval[our_name]
            band = 3 * theirs[f"{nml_name}_sampling_error"]
            chunk[nml_name] = {
                "realized": truth[nml_name],
                "ours": estimate[our_name],
                "theirs": theirs[nml_name],
                "ours_covers": low <= truth[nml_name] <= high,
                "theirs_covers": abs(theirs[nml_name] - truth[nml_name]) <= band,
            }
        chunks.append(chunk)
    return {
        "name": name,
        "features": features,
        "chunks": chunks,
        "calibration": ref["calibration"]["method"],
        "ours_seconds": ours_seconds,
        "theirs_seconds": meta["cbpe_seconds"] + meta["drift_seconds"],
    }


def error_rows(results: list[dict]) -> list[dict]:
    out = []
    for result in results:
        for metric in METRICS:
            values = [c[metric] for c in result["chunks"]]
            ours = float(np.mean([abs(v["ours"] - v["realized"]) for v in values]))
            theirs = float(np.mean([abs(v["theirs"] - v["realized"]) for v in values]))
            out.append({
                "dataset": result["name"], "metric": metric, "chunks": len(values),
                "MAE ours": ours, "MAE NannyML": theirs,
                "ratio": ours / theirs if theirs else float("nan"),
                "ours in 90% interval": f"{np.mean([v['ours_covers'] for v in values]):.0%}",
                "NannyML in ±3σ band": f"{np.mean([v['theirs_covers'] for v in values]):.0%}",
            })  # fmt: skip
    return out


def agreement_rows(results: list[dict]) -> list[dict]:
    """Per dataset: (column, chunk) pairs by who alerted, and chunks by whether any column did."""
    out = []
    for result in results:
        tally = {"both": 0, "NannyML only": 0, "ours only": 0, "neither": 0}
        chunk_tally = dict.fromkeys(tally, 0)
        for chunk in result["chunks"]:
            for column in result["features"]:
                tally[_who(column in chunk["theirs_drift"], column in chunk["ours_drift"])] += 1
            chunk_tally[_who(bool(chunk["theirs_drift"]), bool(chunk["ours_drift"]))] += 1
        agree = (tally["both"] + tally["neither"]) / sum(tally.values())
        out.append({
            "dataset": result["name"], **{f"columns×chunks {k}": v for k, v in tally.items()},
            "agreement": f"{agree:.0%}",
            "chunks alerted (NannyML / ours / both)": (
                f"{chunk_tally['both'] + chunk_tally['NannyML only']} / "
                f"{chunk_tally['both'] + chunk_tally['ours only']} / {chunk_tally['both']}"
            ),
        })  # fmt: skip
    return out


def _who(theirs: bool, ours: bool) -> str:
    return {(True, True): "both", (True, False): "NannyML only", (False, True): "ours only"}.get(
        (theirs, ours), "neither"
    )


def main() -> int:
    python = ensure_venv(VENV, REQUIREMENTS, "NannyML 0.13.1") / "python"
    with tempfile.TemporaryDirectory(prefix="mlrecipes-mq-") as tmp:
        data = Path(tmp)
        subprocess.run(
            [str(python), str(HERE / "monitoring_quality_nannyml.py"), str(data)], check=True
        )
        version = json.loads((data / f"{DATASETS[0]}_nannyml.json").read_text())["nannyml"]
        results = [compare(data, name) for name in DATASETS]
    errors, agreement = error_rows(results), agreement_rows(results)
    missed = [r for r in errors if not r["ratio"] <= RATIO_TARGET + TIE]
    seconds = [
        {"dataset": r["name"], "ours (s)": r["ours_seconds"], "NannyML (s)": r["theirs_seconds"]}
        for r in results
    ]
    body = "\n\n".join([
        "## The label-free estimate against NannyML's CBPE (`benchmarks/monitoring_quality.py`)",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {cpu_model()} ({platform.machine()}), "
        f"NannyML {version} in its own venv, chunks of 5,000 rows (the last one shorter). "
        "Realized values from scikit-learn on the labels. Ratio = our MAE / NannyML's "
        f"(goal <= {RATIO_TARGET:.1f} on every dataset, a difference under {TIE} counted as "
        "a tie: the two compute the same expectation). NannyML's synthetic work-from-home "
        "data has the car-loan data's scores and labels (its features and cut-off differ), so "
        "their ROC AUC rows match.",
        markdown_table(errors, list(errors[0]), floatfmt=".5f"),
        "Drift: a column alerts in a chunk when ours says `alert` on any of its drift metrics "
        "(PSI or Jensen-Shannon over 0.25, unseen levels, null rate), and when NannyML's "
        "Jensen-Shannon leaves its reference-chunk band (its default).",
        markdown_table(agreement, list(agreement[0])),
        "Seconds (reference, then every chunk's estimate and drift):",
        markdown_table(seconds, list(seconds[0]), floatfmt=".2f"),
        "Targets: " + ("all met" if not missed else "missed: " + ", ".join(
            f"{r['dataset']} {r['metric']} {r['ratio']:.3f}" for r in missed)),
    ])  # fmt: skip
    print(body)
    write_section(HERE / "results.md", "monitoring-quality", body)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
