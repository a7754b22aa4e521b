"""Metrics a retention team cares about, computed on every split by the train and evaluate steps.

Each function takes ``eval_df`` (columns ``prediction``, ``target`` and, for binary classifiers,
``score`` = predicted churn probability and ``is_positive``) and the built-in metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def lift_top_decile(eval_df: pd.DataFrame, builtin_metrics: dict[str, float]) -> float:
    """Share of churners among the 10% highest-risk customers, divided by the overall churn rate."""
    positives = eval_df["is_positive"].to_numpy(dtype=float)
    base_rate = positives.mean()
    if base_rate == 0:
        return float("nan")
    scores = eval_df["score"].to_numpy(dtype=float)
    k = max(1, int(np.ceil(0.1 * len(scores))))
    cutoff = np.sort(scores)[::-1][k - 1]
    above, tied = scores > cutoff, scores == cutoff
    # Customers tied at the cut-off share the remaining places (no arbitrary row order wins).
    churners_in_top = positives[above].sum() + positives[tied].mean() * (k - above.sum())
    return float(churners_in_top / k / base_rate)
