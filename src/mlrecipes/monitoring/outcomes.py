"""Which outcome (label) belongs to which scoring window: pure, from the labels known so far."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlrecipes.monitoring.counts import LABEL

LABELLED_AT = "__mlrecipes_labelled_at"  # when an outcome was recorded (labels tables)


def outcomes_for(
    labels: pd.DataFrame, keys: list[str], scored_at: str, target: str, positive: Any
) -> pd.DataFrame:
    """Each key's outcome for a window scored at ``scored_at`` (1.0 / 0.0 under LABEL).

    With the time each outcome was recorded (``LABELLED_AT``), a window takes per key the first
    outcome recorded after it was scored: an older one predates the score."""
    if LABELLED_AT in labels.columns:
        when = pd.Timestamp(scored_at)
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
        labels = labels[labels[LABELLED_AT] > when].drop_duplicates(keys, keep="first")
    return labels[keys].assign(**{LABEL: (labels[target] == positive).astype(float)})
