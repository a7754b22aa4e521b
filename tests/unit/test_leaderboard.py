"""The train card's leaderboard: exact ranks from bounded queries."""

from __future__ import annotations

import pandas as pd

from mlrecipes.steps._train_card import leaderboard_table

COL = "metrics.val_roc_auc"


def runs(*values: float, prefix: str = "r") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [f"{prefix}{i}" for i in range(len(values))],
            COL: list(values),
            "start_time": pd.Timestamp("2026-11-27"),
        }
    )


def test_current_run_inside_the_top_is_ranked_among_them() -> None:
    table = leaderboard_table(runs(0.9, 0.8, 0.8), runs(0.85, prefix="me"), COL, True, None, 100)
    assert table["run_id"].tolist() == ["r0", "me0", "r1", "r2"]
    assert table["rank"].tolist() == ["1", "2", "3", "3"]  # ties share the better rank
    assert table["latest"].tolist() == ["", "← this run", "", ""]
    assert "val_roc_auc" in table.columns


def test_current_run_below_the_top_gets_its_rank_from_the_count() -> None:
    top = runs(*[0.95 - 0.01 * i for i in range(10)])
    table = leaderboard_table(top, runs(0.5, prefix="me"), COL, True, 37, 100)
    assert len(table) == 11 and table["run_id"].iloc[-1] == "me0"
    assert table["rank"].iloc[-1] == "38" and table["rank"].iloc[0] == "1"
    capped = leaderboard_table(top, runs(0.5, prefix="me"), COL, True, 100, 100)
    assert capped["rank"].iloc[-1] == "> 100"


def test_lower_is_better_metrics_rank_ascending() -> None:
    top = runs(0.1, 0.3).rename(columns={COL: "metrics.val_rmse"})
    me = runs(0.2, prefix="me").rename(columns={COL: "metrics.val_rmse"})
    table = leaderboard_table(top, me, "metrics.val_rmse", False, None, 100)
    assert table["run_id"].tolist() == ["r0", "me0", "r1"]
    assert table["rank"].tolist() == ["1", "2", "3"]


def test_leaderboard_queries_against_a_real_store(tmp_path) -> None:
    """The bounded MLflow searches (filters on status, run id and the metric) rank correctly."""
    from mlrecipes.config.tracking import resolve_tracking
    from mlrecipes.execution.context import load_recipe
    from mlrecipes.steps._train_card import _leaderboard
    from mlrecipes.tracking.client import Tracker
    from tests.conftest import copy_template

    tracker = Tracker(
        resolve_tracking(load_recipe(copy_template(tmp_path / "churn", rows=50), "local"))
    )
    client, experiment = tracker.client, tracker.experiment_id

    def new_run(value: float, finish: bool = True) -> str:
        run_id = client.create_run(experiment).info.run_id
        client.log_metric(run_id, "val_roc_auc", value)
        if finish:
            client.set_terminated(run_id)
        return run_id

    for i in range(12):
        new_run(0.80 + 0.01 * i)
    new_run(0.99, finish=False)  # another run still going: not ranked
    worst = new_run(0.5, finish=False)
    table = _leaderboard(tracker, "roc_auc", True, worst)
    assert len(table) == 11 and table["rank"].iloc[-1] == "13"
    assert table["latest"].iloc[-1] == "← this run" and table["rank"].iloc[0] == "1"
    best = new_run(0.95, finish=False)
    table = _leaderboard(tracker, "roc_auc", True, best)
    assert table["run_id"].iloc[0] == best and table["rank"].iloc[0] == "1"
    assert table["rank"].iloc[1] == "2" and len(table) == 11


def test_a_failing_leaderboard_query_is_said_on_the_card(tmp_path) -> None:
    from mlrecipes.cards.model import Tab
    from mlrecipes.execution.context import load_recipe
    from mlrecipes.steps._train_card import leaderboard_tab
    from mlrecipes.tracking.client import Tracker
    from tests.conftest import copy_template

    root = copy_template(tmp_path / "churn", rows=50)
    from mlrecipes.config.tracking import resolve_tracking

    tracker = Tracker(resolve_tracking(load_recipe(root, "local")))
    run_id = tracker.client.create_run(tracker.experiment_id).info.run_id
    (root / "metadata" / "mlflow" / "mlruns.db").write_bytes(b"not a database" * 100)
    tab = Tab("Leaderboard")
    leaderboard_tab(tab, tracker, "roc_auc", True, run_id)
    (block,) = tab.blocks
    assert block.text.startswith("The leaderboard query to MLflow failed (")
    assert "No finished runs" not in block.text
