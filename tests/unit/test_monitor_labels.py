"""A window's outcomes from a labels table are taken point in time: per key, the first outcome
recorded after the window was scored (an older one predates the score)."""

from __future__ import annotations

import pandas as pd

from mlrecipes.monitoring.counts import LABEL
from mlrecipes.monitoring.outcomes import LABELLED_AT
from mlrecipes.monitoring.outcomes import outcomes_for as _outcomes_for


def test_each_key_takes_the_first_outcome_recorded_after_the_window() -> None:
    labels = pd.DataFrame(
        {
            "customerID": ["a", "a", "a", "b", "c"],
            "Churn": ["Yes", "No", "Yes", "No", "Yes"],
            LABELLED_AT: pd.to_datetime(
                ["2026-01-31", "2026-02-28", "2026-03-31", "2026-01-31", "2026-03-31"], utc=True
            ),
        }
    ).sort_values(LABELLED_AT)
    got = _outcomes_for(labels, ["customerID"], "2026-01-31T00:00:00+00:00", "Churn", "Yes")
    assert dict(zip(got["customerID"], got[LABEL], strict=True)) == {"a": 0.0, "c": 1.0}
    none_yet = _outcomes_for(labels, ["customerID"], "2026-03-31T00:00:00", "Churn", "Yes")
    assert none_yet.empty
    # a labels file (no recording time): every row as it is
    plain = labels.drop(columns=[LABELLED_AT]).drop_duplicates("customerID", keep="last")
    assert len(_outcomes_for(plain, ["customerID"], "2026-03-31T00:00:00", "Churn", "Yes")) == 3
