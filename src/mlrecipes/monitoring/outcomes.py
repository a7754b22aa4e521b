"""Which outcome (label) belongs to which scoring window: pure, from the labels known so far."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlrecipes.monitoring.counts import LABEL
from mlrecipes.stats.keys import normalised

LABELLED_AT = "__mlrecipes_labelled_at"  # when an outcome was recorded (labels tables)


def outcomes_for(
    labels: pd.DataFrame, keys: list[str], scored_at: str, target: str, positive: Any
) -> pd.DataFrame:
    """Each key's outcome for a window scored at ``scored_at`` under LABEL: 1.0 / 0.0 for a
    classifier's ``positive`` class, the target's value itself for regression (``positive`` None).

    With the time each outcome was recorded (``LABELLED_AT``), a window takes per key the first
    outcome recorded after it was scored: an older one predates the score."""
    labels = normalised(labels, keys)
    if LABELLED_AT in labels.columns:
        when = pd.Timestamp(scored_at)
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
        labels = labels[labels[LABELLED_AT] > when].drop_duplicates(keys, keep="first")
    if positive is None:
        outcome = pd.to_numeric(labels[target], errors="coerce").astype(float)
    else:
        outcome = (labels[target] == positive).astype(float)
    return labels[keys].assign(**{LABEL: outcome})


def contradictions(
    labels: pd.DataFrame, keys: list[str], target: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labels without them, the contradicting keys with their outcomes): one key recorded with
    two different outcomes at the same time (or, without times, at all) is not a label but a
    data error; taking either would invent a performance alert."""
    at = [LABELLED_AT] if LABELLED_AT in labels.columns else []
    compared = normalised(labels, keys)
    outcomes = compared.groupby([*keys, *at], dropna=False)[target].transform("nunique")
    bad = outcomes > 1
    return labels[~bad], labels[bad]
