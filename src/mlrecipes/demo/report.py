"""``demo/report.html``: the story's timeline for people (self-contained: inline CSS, plots as
inline PNG, no script, nothing fetched), from the summary and the prod monitoring table."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

import pandas as pd

from mlrecipes.cards.monitoring_report import drift_heatmap
from mlrecipes.cards.plots import _COLOR, _figure, _labels, _png
from mlrecipes.demo.claims import story_claims

_ALERT = "#e45756"


def _table(location: Path) -> pd.DataFrame:
    from mlrecipes.io.monitoring_table import read_table

    return read_table(location)


def measured_per_window(location: Path) -> dict[str, dict[str, Any]]:
    """Each window's ROC AUC: measured (once labels arrived) and estimated, with the estimate's
    90% interval and what it cannot vouch for (``estimate_caveats``)."""
    from mlrecipes.monitoring.window import ESTIMATED, estimate_caveats, interval_of

    table = _table(location)
    out: dict[str, dict[str, Any]] = {}
    for window, rows in table.groupby("window"):
        found: dict[str, Any] = out.setdefault(str(window), {})
        for row in rows[rows["metric"] == "roc_auc"].itertuples():
            found["roc_auc" if row.kind == "performance" else "estimated"] = float(row.value)
        estimate = [r for r in rows.itertuples() if r.kind == ESTIMATED]
        interval = interval_of(estimate, "roc_auc")
        found["estimated_interval"] = list(interval) if interval else None
        found["estimate_caveats"] = estimate_caveats(estimate)
    return out


def auc_alert_lines(table: pd.DataFrame) -> dict[str, float]:
    """Each window's ROC AUC alert line: the threshold of the model that scored that window
    (its holdout ROC AUC less the allowed drop), so the line steps where the champion changes
    (#25: one value for the whole chart was the wrong model's for some months)."""
    auc = table[(table["metric"] == "roc_auc") & table["threshold"].notna()]
    return {str(w): float(rows["threshold"].iloc[-1]) for w, rows in auc.groupby("window")}


def alerts_per_window(table: pd.DataFrame) -> dict[str, list[str]]:
    """Every alert the monitoring table holds, by window: drift and prediction drift when the
    window was scored, performance (estimated, then measured once its labels arrived)."""
    from mlrecipes.monitoring.window import alerts

    return {
        str(w): alerts(list(rows.sort_values(["kind", "column", "metric"]).itertuples()))
        for w, rows in table.groupby("window")
    }


def final_alerts(location: Path) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Every alert per window and each window's ROC AUC alert line, as the table holds them."""
    table = _table(location)
    return alerts_per_window(table), auc_alert_lines(table)


def _versions_plot(months: list[dict[str, Any]]) -> bytes:
    fig, ax = _figure(size=(6.5, 2.6))
    labels = [m["month"] for m in months]
    versions = [int(m["champion_version"]) for m in months]
    ax.step(range(len(labels)), versions, where="mid", color=_COLOR)
    ax.plot(range(len(labels)), versions, "o", color=_COLOR)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(sorted(set(versions)), [f"v{v}" for v in sorted(set(versions))])
    _labels(ax, "Champion that scored each month", "month", "model version")
    fig.subplots_adjust(bottom=0.25)
    return _png(fig)


def _performance_plot(months: list[dict[str, Any]], lines: dict[str, float]) -> bytes:
    fig, ax = _figure(size=(6.5, 3.4))
    labels = [m["month"] for m in months]
    for key, style, label in (
        ("roc_auc", "-", "measured (labels, a month later)"),
        ("estimated_roc_auc", "--", "estimated (CBPE, before labels)"),
    ):
        values = [m[key] if m[key] is not None else float("nan") for m in months]
        ax.plot(range(len(labels)), values, style, marker="o", color=_COLOR, label=label)
    steps = [lines.get(m["scored_at"], float("nan")) for m in months]
    if any(v == v for v in steps):  # not all NaN
        ax.step(range(len(labels)), steps, where="mid", color=_ALERT, linestyle="--",
                linewidth=1, label="alert line (of the model that scored the month)")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.legend(loc="best", fontsize=8)
    _labels(ax, "ROC AUC per month", "month", "ROC AUC")
    fig.subplots_adjust(bottom=0.2)
    return _png(fig)


def _img(name: str, png: bytes) -> str:
    return (
        f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' "
        f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
    )


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _window_time(scored_at: str) -> str:
    """A window as the monitoring table names it, to the second (two windows of one month are
    told apart), in UTC."""
    stamp = pd.Timestamp(scored_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def _timeline(
    months: list[dict[str, Any]], every_alert: dict[str, list[str]], lines: dict[str, float]
) -> str:
    """One table row per month: champion, rows, every alert, ROC AUC and its alert line."""
    return "".join(
        f"<tr><td>{m['month']}</td><td>{html.escape(_window_time(m['scored_at']))}</td>"
        f"<td>v{html.escape(str(m['champion_version']))}</td>"
        f"<td class=num>{m['rows_scored']}</td>"
        f"<td>{html.escape('; '.join(every_alert.get(m['scored_at'], [])) or 'none')}</td>"
        f"<td class=num>{_fmt(m['roc_auc'])}</td><td class=num>{_estimate(m)}</td>"
        f"<td class=num>{_fmt(lines.get(m['scored_at']))}</td>"
        f"<td>{'fired' if m['trigger_fired'] else ''}</td><td>{html.escape(m['deploy_decision'] or '')}</td></tr>"
        for m in months
    )  # fmt: skip


def _estimate(month: dict[str, Any]) -> str:
    """The estimate with its 90% interval, or with why it cannot be taken at face value."""
    value = month.get("estimated_roc_auc")
    if value is None:
        return ""
    interval = month.get("estimated_interval")
    text = f"{value:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")
    caveats = month.get("estimate_caveats") or []
    if caveats:
        text += " unsupported: " + "; ".join(caveats)
    return html.escape(text)


def _decisions(summary: dict[str, Any]) -> str:
    return "".join(
        f"<tr><td>{html.escape(d['month'])}</td><td>{html.escape(d['profile'])}</td>"
        f"<td>{html.escape(d['kind'])}</td><td>{html.escape(str(d['by']))}</td>"
        f"<td>{html.escape(str(d.get('version') or ''))}</td><td>{html.escape(str(d['decision']))}</td>"
        f"<td>{html.escape(str(d.get('reason') or ''))}</td></tr>"
        for d in summary["decisions"]
    )  # fmt: skip


def _card_links(work: Path, path: Path) -> str:
    cards = sorted(work.glob(".mlrecipes/*/steps/*/card.html"))
    return "".join(
        f"<li><a href='{html.escape(os.path.relpath(card, path.parent))}'>"
        f"{html.escape(card.parts[-4])} / {html.escape(card.parts[-2])}</a></li>"
        for card in cards
    )


def write_report(summary: dict[str, Any], work: Path, path: Path) -> None:
    months = summary["months"]
    table = _table(work / "data" / "monitoring" / "churn_prod")
    lines, every_alert = auc_alert_lines(table), alerts_per_window(table)
    drift_alert = table.loc[table["kind"] == "drift", "threshold"].dropna()
    figures = "".join(
        [
            _img("Which model served each month", _versions_plot(months)),
            _img("Performance: measured and estimated", _performance_plot(months, lines)),
            _img("Input drift per feature", drift_heatmap(table, float(drift_alert.max()) if len(drift_alert) else 0.25)),
        ]
    )  # fmt: skip
    timeline = _timeline(months, every_alert, lines)
    claims = "".join(f"<li>{html.escape(c)}</li>" for c in story_claims(summary))
    decisions, links = _decisions(summary), _card_links(work, path)
    path.write_text(
        f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The production loop, played</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px;
       color: #1f2328; max-width: 1100px; }}
table {{ border-collapse: collapse; font-size: 13px; margin: 8px 0 18px; }}
th, td {{ border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f3f6; }} td.num {{ text-align: right; }}
img {{ max-width: 100%; display: block; margin-bottom: 12px; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 24px; }}
</style></head><body>
<h1>The production loop, played: a churn model through a change in its world</h1>
<p>{len(months)} months on generated customers, through the commands the jobs run, on an MLflow
tracking server with basic auth ({summary["seconds"]} s). Labels of a month arrive with the next
month's snapshot, so a month's measured ROC AUC is known a month later.</p>
<h2>What happened (computed from this run's summary.json)</h2>
<ul class=claims>{claims}</ul>
<h2>Timeline</h2>
<table><tr><th>month</th><th>window (scored at, <code>--at</code>)</th><th>champion</th><th>rows scored</th><th>alerts (every kind, labels
included)</th><th>ROC AUC (measured)</th><th>ROC AUC (estimated [90% interval])</th><th>alert below (its
model's)</th><th>trigger</th><th>deploy</th></tr>{timeline}</table>
{figures}
<h2>Every decision</h2>
<table><tr><th>month</th><th>profile</th><th>what</th><th>by</th><th>version</th><th>decision</th>
<th>reason</th></tr>{decisions}</table>
<h2>Step cards, as the demo left them</h2>
<p>The final state of each environment's steps, after the last month: a card is rewritten each
time its step runs, so these show the last run of each step (for prod's deploy, the release),
not every decision above; each decision's reason is in its row of the table.</p>
<ul>{links}</ul>
</body></html>
""",
        encoding="utf-8",
    )
