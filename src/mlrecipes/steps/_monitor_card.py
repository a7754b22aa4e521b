"""monitor's summary and card: the window's drift, prediction drift, performance and alerts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


def _summary(
    info: dict[str, Any],
    rows_in_window: int,
    rows: list[Any],
    window_alerts: list[str],
    late: list[dict[str, Any]],
    table: str,
    version: int,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``inspect --step monitor --json``: the worst drift metric per column, the rest by kind."""
    from mlrecipes.monitoring.window import DRIFT, ESTIMATED, MEASURED, PREDICTION_DRIFT

    order = {"ok": 0, "info": 0, "warn": 1, "alert": 2}
    drift_by_column: dict[str, dict[str, Any]] = {}
    for row in (r for r in rows if r.kind == DRIFT and r.metric != "not_computed"):
        current = drift_by_column.get(row.column)
        rank = (order[row.status], row.value if row.metric != "null_rate_change" else 0)
        if current is None or rank > current["_rank"]:
            drift_by_column[row.column] = {
                "metric": row.metric, "value": row.value, "status": row.status, "_rank": rank,
            }  # fmt: skip
    for entry in drift_by_column.values():
        entry.pop("_rank")

    def by_metric(kind: str) -> dict[str, Any] | None:
        found = {r.metric: {"value": r.value, "status": r.status} for r in rows if r.kind == kind}
        return found or None

    prediction = [r for r in rows if r.kind == PREDICTION_DRIFT]
    return {
        "window": info["scored_at"],
        "rows": rows_in_window,
        "model_name": info["model_name"],
        "model_version": info["model_version"],
        "drift": drift_by_column,
        "prediction_drift": (
            {"metric": "psi", "value": prediction[0].value, "status": prediction[0].status}
            if prediction
            else None
        ),
        "performance": by_metric(MEASURED),
        "estimated_performance": by_metric(ESTIMATED),
        "estimate": _estimate_summary([r for r in rows if r.kind == ESTIMATED], calibration),
        "alerts": window_alerts,
        "late_labelled_windows": sorted({r["window"] for r in late}),
        "monitoring_table": {"location": table, "version": version},
    }


def _estimate_summary(
    estimated: list[Any], calibration: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The estimate's 90% intervals, what it cannot vouch for, and how the scores were read."""
    from mlrecipes.monitoring.window import HOLDOUT_ERROR, estimate_caveats, interval_of

    if not estimated:
        return None
    intervals = {m: interval_of(estimated, m) for m in ("roc_auc", "f1_score")}
    return {
        "interval_90": {m: list(v) for m, v in intervals.items() if v},
        "holdout_error": {
            r.metric.removesuffix(HOLDOUT_ERROR): r.value
            for r in estimated
            if r.metric.endswith(HOLDOUT_ERROR)
        },
        "caveats": estimate_caveats(estimated, calibration),
        "calibration": (calibration or {}).get("method"),
    }


def _fill_card(card: Any, summary: dict[str, Any], rows: list[Any], table: Path) -> None:
    import pandas as pd

    head = card.tab("Window")
    head.kv(
        {
            "Window (scored at)": summary["window"],
            "Rows": summary["rows"],
            "Model": f"{summary['model_name']} version {summary['model_version']}",
            "Alerts": "; ".join(summary["alerts"]) or "none",
            "Input drift from": summary.get("input_drift_from", "the scores table"),
            "Monitoring table": f"{table} (version {summary['monitoring_table']['version']})",
            "Earlier windows measured now (labels arrived)": ", ".join(
                summary["late_labelled_windows"]
            )
            or "none",
        }
    )
    frame = pd.DataFrame([r.as_dict() for r in rows])
    for kind, title in (
        ("drift", "Input Drift"),
        ("prediction_drift", "Prediction Drift"),
        ("estimated_performance", "Estimated Performance"),
        ("performance", "Measured Performance"),
    ):
        part = frame[frame["kind"] == kind].drop(columns=["kind"]) if not frame.empty else frame
        if not part.empty:
            tab = card.tab(title)
            if kind == "estimated_performance":
                tab.text(_estimate_text(summary.get("estimate") or {}))
            tab.table(part.sort_values(["status", "value"], ascending=[True, False]))


def _estimate_text(estimate: dict[str, Any]) -> str:
    """What the estimate is, its 90% interval, and what it cannot vouch for."""
    how = (
        "read through the holdout's isotonic calibration map"
        if estimate.get("calibration") == "isotonic"
        else "read as probabilities"
    )
    parts = [
        f"An estimate before labels arrive (CBPE: the scores {how}). It cannot see a change in "
        "how inputs relate to the outcome; the measured values can."
    ]
    errors = estimate.get("holdout_error") or {}
    if errors:
        said = ", ".join(f"{m} {e:+.3f}" for m, e in errors.items())
        parts.append(
            f"On the model's holdout, where labels were known, the estimate was off by {said} "
            "(estimated minus measured); each interval below is widened by it."
        )
    for metric, (low, high) in (estimate.get("interval_90") or {}).items():
        parts.append(
            f"{metric}: if that reading holds, 90% of measured values fall in [{low:.3f}, {high:.3f}]."
        )
    caveats = estimate.get("caveats") or []
    if caveats:
        parts.append("NOT SUPPORTED, read the number with care: " + "; ".join(caveats) + ".")
    return " ".join(parts)
