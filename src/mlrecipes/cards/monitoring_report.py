"""``monitoring_report.html``: the monitoring table over its windows, for people. One
self-contained file (inline CSS, plots as inline PNG, no script, nothing fetched): drift per
column as a heatmap, prediction drift, performance measured and estimated with the alert line,
which model version served each window, and every alert."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from mlrecipes.cards.plots import _COLOR, _figure, _labels, _png

_ALERT = "#e45756"


def window_labels(windows: Iterable[str]) -> dict[str, str]:
    """Each window's label: to the minute, or to the second when two windows share a minute
    (scoring runs minutes apart read as one), or whole when they share a second too."""
    windows = sorted({str(w) for w in windows})
    for width in (16, 19):
        labels = {w: w[:width].replace("T", " ") for w in windows}
        if len(set(labels.values())) == len(windows):
            return labels
    return {w: w.replace("T", " ") for w in windows}


def drift_heatmap(table: pd.DataFrame, alert: float) -> bytes:
    """Worst PSI / JS distance per column and window (darker: more drift; x: an alert)."""
    drift = table[(table["kind"] == "drift") & table["metric"].isin(["psi", "js_distance"])]
    grid = drift.pivot_table(index="column", columns="window", values="value", aggfunc="max")
    grid = grid.loc[grid.max(axis=1).sort_values(ascending=False).index]
    height = 0.28 * len(grid) + 1.6
    fig, ax = _figure(size=(max(5.0, 0.9 * len(grid.columns) + 3.2), height))
    image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="Blues", vmin=0, vmax=max(alert, 0.5))
    ax.set_yticks(range(len(grid.index)), list(grid.index), fontsize=7)
    labels = window_labels(table["window"])
    ax.set_xticks(
        range(len(grid.columns)), [labels[str(w)] for w in grid.columns], fontsize=7, rotation=30
    )
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        if value >= alert:
            ax.text(j, i, "x", ha="center", va="center", color="white", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    ax.set_title("Input drift per column (PSI / JS distance; x: alert)", fontsize=10)
    fig.subplots_adjust(left=0.28, bottom=max(0.12, 0.9 / height), top=1 - 0.45 / height)
    return _png(fig)


def series_plot(
    table: pd.DataFrame, kind_metric: list[tuple[str, str, str]], title: str, ylabel: str,
    alert_line: float | dict[str, float] | None, band: tuple[str, str, str] | None = None,
) -> bytes:  # fmt: skip
    """Values of (kind, metric) pairs over the windows, with the alert line: one value, or
    each window's own (a step where the model that scored them changes); ``band``: the
    (kind, low metric, high metric) of an interval drawn behind the values."""
    windows = sorted(table["window"].unique())
    fig, ax = _figure(size=(6.5, 3.6))
    if band is not None:
        kind, low, high = band
        ends = [
            table[(table["kind"] == kind) & (table["metric"] == m)]
            .groupby("window")["value"].last().reindex(windows).to_numpy()
            for m in (low, high)
        ]  # fmt: skip
        ax.fill_between(
            range(len(windows)), *ends, color=_COLOR, alpha=0.15, label="estimate's 90% interval"
        )
    for (kind, metric, label), style in zip(kind_metric, ("-", "--", ":"), strict=False):
        part = table[(table["kind"] == kind) & (table["metric"] == metric)]
        values = part.groupby("window")["value"].last().reindex(windows)
        ax.plot(
            range(len(windows)), values.to_numpy(), style, marker="o", color=_COLOR, label=label
        )
    if isinstance(alert_line, dict):
        steps = [alert_line.get(str(w), float("nan")) for w in windows]
        ax.step(range(len(windows)), steps, where="mid", color=_ALERT, linestyle="--",
                linewidth=1, label="alert (of the model that scored the window)")  # fmt: skip
    elif alert_line is not None:
        ax.axhline(alert_line, color=_ALERT, linestyle="--", linewidth=1, label="alert")
    labels = window_labels(table["window"])
    ax.set_xticks(range(len(windows)), [labels[str(w)] for w in windows], fontsize=7, rotation=30)
    ax.legend(loc="best", fontsize=8)
    _labels(ax, title, "window (scored at)", ylabel)
    fig.subplots_adjust(bottom=0.3)
    return _png(fig)


NOT_COMPUTED = "not_computed"


def render(table: pd.DataFrame, title: str) -> str:
    """The report of a monitoring table (every window in it)."""
    windows = (
        table.groupby("window")
        .agg(model=("model_version", "last"), rows=("rows", "max"),
             alerts=("status", lambda s: int((s == "alert").sum())))
        .reset_index()
    )  # fmt: skip
    drift_alert = _threshold(table, "drift", 0.25)
    score_alert = _threshold(table, "prediction_drift", 0.25)
    images = [
        ("Input drift", drift_heatmap(table, drift_alert)),
        *_output_figures(table, score_alert),
    ]
    alerts = table[table["status"] == "alert"].sort_values(["window", "kind", "column"])
    # windows whose input columns could not be counted (a slim scores table, input gone)
    uncomputed = set(table.loc[table["metric"] == NOT_COMPUTED, "window"])
    labels = window_labels(table["window"])
    estimates = {str(w): estimate_cell(rows) for w, rows in table.groupby("window")}
    from mlrecipes.cards.render import render_template

    return render_template(
        "monitoring_report.html.j2",
        title=title,
        windows=[
            {
                "window": labels[str(w.window)],
                "model": w.model,
                "rows": w.rows,
                "alerts": w.alerts,
                "input_drift": "not computed" if w.window in uncomputed else "computed",
                "estimate": estimates[str(w.window)][0],
                "caveats": estimates[str(w.window)][1],
            }
            for w in windows.itertuples()
        ],
        figures=[(name, base64.b64encode(png).decode()) for name, png in images],
        alerts=[
            {
                "window": labels[str(a.window)],
                "kind": a.kind,
                "column": a.column or "",
                "metric": a.metric,
                "value": a.value,
            }
            for a in alerts.itertuples()
        ],
    )


def _output_figures(table: pd.DataFrame, score_alert: float) -> list[tuple[str, bytes]]:
    """Prediction drift, and performance: a classifier's ROC AUC (measured and estimated), or a
    regression model's measured RMSE (no estimate exists for it)."""
    regression = (
        not (table["metric"] == "roc_auc").any()
        and (table["metric"] == "root_mean_squared_error").any()
    )
    metric, name = ("root_mean_squared_error", "RMSE") if regression else ("roc_auc", "ROC AUC")
    perf = table[
        (table["metric"] == metric) & table["kind"].isin(["performance", "estimated_performance"])
    ]
    # each window's own line: the threshold of the model that scored it
    perf_alert = {
        str(w): float(rows["threshold"].iloc[-1])
        for w, rows in perf[perf["threshold"].notna()].groupby("window")
    }
    scored = table.loc[table["kind"] == "prediction_drift", "column"]
    output = str(scored.iloc[-1]) if len(scored) else "predicted_score"
    series = [("performance", metric, "measured (labels)")]
    if not regression:
        series.append(("estimated_performance", metric, "estimated (CBPE, no labels)"))
    return [
        ("Prediction drift", series_plot(
            table, [("prediction_drift", "psi", f"PSI of {output}")],
            "Prediction drift against the holdout", "PSI", score_alert)),
        ("Performance", series_plot(
            table, series, f"{name} per window", name, perf_alert or None,
            None if regression else ("estimated_performance", *_interval_metrics(metric)))),
    ]  # fmt: skip


def _interval_metrics(metric: str) -> tuple[str, str]:
    from mlrecipes.monitoring.window import INTERVAL_HIGH, INTERVAL_LOW

    return f"{metric}{INTERVAL_LOW}", f"{metric}{INTERVAL_HIGH}"


def estimate_cell(rows: pd.DataFrame) -> tuple[str, list[str]]:
    """A window's ROC AUC estimate with its 90% interval, and its caveats (``estimate_caveats``)."""
    from mlrecipes.monitoring.window import ESTIMATED, estimate_caveats, interval_of

    estimated = [r for r in rows.itertuples() if r.kind == ESTIMATED]
    value = next((r.value for r in estimated if r.metric == "roc_auc"), None)
    if value is None:
        return "", []
    interval = interval_of(estimated, "roc_auc")
    text = f"{value:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")
    return text, estimate_caveats(estimated)


def _threshold(table: pd.DataFrame, kind: str, default: float) -> float:
    values = table.loc[(table["kind"] == kind) & (table["metric"] == "psi"), "threshold"].dropna()
    return float(values.iloc[-1]) if len(values) else default


def write(table: pd.DataFrame, title: str, path: Any) -> None:
    from pathlib import Path

    Path(path).write_text(render(table, title), encoding="utf-8")
