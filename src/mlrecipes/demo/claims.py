"""What the demo report tells a stakeholder, computed from the run's own summary (pure).

Every sentence is derived from ``summary.json`` (the months, the decisions, the comparison), so
the story cannot drift from the run that produced it (#25: a hand-written story called the worst
month "steady" and counted breaches the trigger had not counted). A fact the run does not show
(no steady month, no release) is said as such, not assumed.
"""

from __future__ import annotations

from typing import Any


def _auc(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3f}"


def every_alert(month: dict[str, Any]) -> list[str]:
    """A month's alerts as the monitoring table held them at the end (performance measured a
    month later included); a summary without them has the alerts seen when it was scored."""
    return month.get("every_alert", month["alerts"])


def steady_months(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The months from the start until the first alert of any kind."""
    steady = []
    for month in months:
        if every_alert(month):
            break
        steady.append(month)
    return steady


def first_drift(months: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((m for m in months if any(a.startswith("drift ") for a in every_alert(m))), None)


def firings(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in summary["decisions"] if d["kind"] == "trigger" and d["decision"] == "fired"]


def _estimated(month: dict[str, Any]) -> str:
    """The estimate, its 90% interval, and whether the measurement fell in it."""
    text = _auc(month["estimated_roc_auc"])
    interval, measured = month.get("estimated_interval"), month.get("roc_auc")
    if interval:
        inside = measured is not None and interval[0] <= measured <= interval[1]
        text += f", 90% interval {_auc(interval[0])}-{_auc(interval[1])}"
        if measured is not None:
            text += ", measured inside it" if inside else ", measured outside it"
    caveats = month.get("estimate_caveats") or []
    return text + (f"; unsupported: {'; '.join(caveats)}" if caveats else "")


def story_claims(summary: dict[str, Any]) -> list[str]:
    """The story in sentences, each from the summary's numbers."""
    months = summary["months"]
    claims = []
    steady = steady_months(months)
    if steady:
        measured = ", ".join(
            f"{m['month']} {_auc(m['roc_auc'])} (estimated {_estimated(m)})" for m in steady
        )
        claims.append(
            f"Steady state: {len(steady)} month(s) without any alert; ROC AUC measured once the "
            f"outcomes arrived: {measured}."
        )
    else:
        claims.append("No steady state: the first month already has an alert.")
    drift = first_drift(months)
    if drift is not None:
        drifted = [a for a in every_alert(drift) if a.startswith("drift ")]
        columns = sorted({a.split()[1].rstrip(":") for a in drifted})
        claims.append(f"Input drift from {drift['month']}: {', '.join(columns)}.")
    fired = firings(summary)
    if fired:
        first = fired[0]
        claims.append(
            f"The retraining trigger fired {len(fired)} time(s), first in {first['month']}: "
            f"{first['reason']}."
        )
    else:
        claims.append("The retraining trigger never fired.")
    champions = [m["champion_version"] for m in months]
    if len(set(champions)) > 1:
        changed = next(m for m in months if m["champion_version"] != champions[0])
        claims.append(
            f"A new champion, v{changed['champion_version']}, scored from {changed['month']} "
            f"(the first champion was v{champions[0]})."
        )
    else:
        claims.append(f"The first champion, v{champions[0]}, scored every month.")
    comparison = summary.get("comparison")
    if comparison:
        claims.append(
            f"On {comparison['month']}'s outcomes, champion v{comparison['champion_version']} "
            f"measured ROC AUC {_auc(comparison['roc_auc'])}; the first champion, "
            f"v{comparison['first_champion_version']}, scores "
            f"{_auc(comparison['first_champion_roc_auc'])} on the same rows."
        )
    unlabelled = [m["month"] for m in months if m["roc_auc"] is None]
    if unlabelled:
        claims.append(
            f"Estimated only (outcomes not yet in): {', '.join(unlabelled)}; a month's outcomes "
            "arrive with the next month's snapshot."
        )
    return claims
