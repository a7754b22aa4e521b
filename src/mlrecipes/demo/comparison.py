"""One scoring window scored again by another model version, and its ROC AUC against the labels
that arrived after it (as the monitor measures it): the demo's "better than the first champion"."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlrecipes.config.locations import local_path


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def auc_of_version(
    root: Path, profile: str, env: dict[str, str], version: str, scored_at: str
) -> float:
    """ROC AUC of model ``version`` on the window scored at ``scored_at`` (its logged inputs)."""
    import pandas as pd
    import pyarrow as pa
    from sklearn.metrics import roc_auc_score

    from mlrecipes.execution.context import load_recipe
    from mlrecipes.features.recipe_store import store_for
    from mlrecipes.io.monitoring_table import window_batches
    from mlrecipes.tracking.client import Tracker
    from mlrecipes.tracking.settings import engine_environment

    with _environ(env), engine_environment():
        loaded = load_recipe(root, profile, {})
        config = loaded.config
        scores = local_path(config.steps.predict.resolved_output.location, root)
        window = pa.Table.from_batches(list(window_batches(scores, scored_at))).to_pandas()
        from mlrecipes.config.tracking import resolve_tracking

        tracker = Tracker(resolve_tracking(loaded))
        model = tracker.load_model(f"models:/{tracker.settings.model_name}/{version}")
        inputs = model.metadata.get_input_schema().input_names()
        predicted = model.predict(window[inputs])["predicted_score"].to_numpy(dtype=float)
        store = store_for(loaded)
        labels = store.read_table("churn_labels")
        when = store.info("churn_labels").timestamp_key
    stamps = pd.to_datetime(labels[when], utc=True)
    after = labels[stamps > pd.Timestamp(scored_at)].sort_values(when)
    outcome = after.drop_duplicates("customerID", keep="first").set_index("customerID")
    truth = window["customerID"].map(outcome[config.target_col]) == config.positive_class
    known = window["customerID"].isin(outcome.index).to_numpy()
    return float(roc_auc_score(truth.to_numpy()[known], predicted[known]))
