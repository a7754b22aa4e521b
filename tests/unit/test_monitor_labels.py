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


# --- keys matched by one rule; contradictory outcomes refused (#31) ---------------------------


def test_keys_match_as_text_whatever_their_type_or_spelling() -> None:
    from mlrecipes.stats.keys import normalised_key

    left = pd.Series(["0042", " 7590-VHVEG", "abc ", None, "0", "00"])
    right = pd.Series([42, "7590-vhveg", "ABC", None, 0, "0"], dtype=object)
    assert normalised_key(left).tolist()[:3] == normalised_key(right).tolist()[:3]
    got = normalised_key(left).tolist()
    assert got[:3] + got[4:] == ["42", "7590-vhveg", "abc", "0", "0"] and pd.isna(got[3])
    assert normalised_key(pd.Series([7, 8], dtype="int64")).tolist() == ["7", "8"]


def test_outcomes_join_integer_keys_to_text_scores() -> None:
    from mlrecipes.monitoring.counts import LABEL
    from mlrecipes.monitoring.outcomes import outcomes_for
    from mlrecipes.stats.keys import normalised

    labels = pd.DataFrame({"id": [1, 2, 3], "Churn": ["Yes", "No", "Yes"]})  # read as integers
    scores = pd.DataFrame({"id": ["0001", "0002", "0004"]})  # written as text
    outcomes = outcomes_for(labels, ["id"], "2026-01-31T00:00:00", "Churn", "Yes")
    joined = normalised(scores, ["id"]).merge(outcomes, on="id", how="left")[LABEL]
    assert joined.tolist()[:2] == [1.0, 0.0] and pd.isna(joined.tolist()[2])


def test_contradictory_outcomes_are_refused_not_resolved_by_last_wins() -> None:
    from mlrecipes.monitoring.outcomes import LABELLED_AT, contradictions

    labels = pd.DataFrame(
        {"id": ["a", "A ", "b", "c", "c"], "Churn": ["Yes", "No", "No", "Yes", "Yes"]}
    )
    kept, refused = contradictions(labels, ["id"], "Churn")
    assert sorted(kept["id"]) == ["b", "c", "c"] and sorted(refused["id"]) == ["A ", "a"]
    when = pd.to_datetime(["2026-01-31", "2026-02-28", "2026-01-31"], utc=True)
    timed = pd.DataFrame({"id": ["a", "a", "b"], "Churn": ["No", "Yes", "No"], LABELLED_AT: when})
    kept, refused = contradictions(timed, ["id"], "Churn")  # an outcome that changed over time
    assert len(kept) == 3 and refused.empty
