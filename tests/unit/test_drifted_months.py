"""The drifted months (#25): churn follows its stated drivers, a steady state whose outcomes come
from the same world as its inputs, the outcomes as they arrive, and the files written."""

from __future__ import annotations

import numpy as np

from mlrecipes.sample_data.drifted import MAILED_CHECK_EFFECT, drifted_months
from mlrecipes.sample_data.telco import (
    TARGET_CHURN_RATE,
    calibrate_intercept,
    churn_logit,
    generate,
)


def test_churn_follows_its_drivers_in_every_contract_group() -> None:
    # the demo's random stream once repeated the generator's (both seeded with 7): the churn draw
    # of month 2 then tracked how customers had been drawn, 16 points off in one contract group
    customers, seed = 4000, 7
    intercept = calibrate_intercept(churn_logit(generate(customers, seed)), TARGET_CHURN_RATE)
    frames = drifted_months(customers, months=4, drift_from=2, seed=seed)
    for month, frame in enumerate(frames):
        # decided by how customers stood entering the month, in the previous month's world
        entering = frames[max(month - 1, 0)]
        z = churn_logit(entering) + intercept
        if month - 1 >= 2:
            z = z + MAILED_CHECK_EFFECT * (entering["PaymentMethod"] == "Mailed check").to_numpy()
        expected = 1 / (1 + np.exp(-z))
        churned = (frame["Churn"] == "Yes").to_numpy()
        for contract in entering["Contract"].unique():
            group = (entering["Contract"] == contract).to_numpy()
            gap = abs(churned[group].mean() - expected[group].mean())
            assert gap < 0.05, (month, contract, gap)


def test_the_steady_windows_are_labelled_in_the_steady_world() -> None:
    # window k is scored on month k and measured by month k+1's churn: with the drift from
    # month 2, windows 0 and 1 are measured by churn of the unchanged world (#25)
    frames = drifted_months(customers=4000, months=4, drift_from=2, seed=7)
    for labels in frames[1:3]:
        mailed = (labels["PaymentMethod"] == "Mailed check").to_numpy()
        churned = (labels["Churn"] == "Yes").to_numpy()
        assert abs(churned.mean() - TARGET_CHURN_RATE) < 0.025
        assert abs(churned[mailed].mean() - churned[~mailed].mean()) < 0.06
    mailed = (frames[3]["PaymentMethod"] == "Mailed check").to_numpy()
    churned = (frames[3]["Churn"] == "Yes").to_numpy()
    assert churned[mailed].mean() > churned[~mailed].mean() + 0.2  # window 2's: the new world


def test_outcomes_arrive_a_month_late_and_the_last_window_has_none() -> None:
    from mlrecipes.sample_data.drifted import LABELLED_AT, outcomes

    frames = drifted_months(customers=50, months=3, drift_from=2, seed=3)
    labels = outcomes(frames)
    assert list(labels.columns) == ["customerID", "Churn", LABELLED_AT]
    assert sorted(labels[LABELLED_AT].unique()) == ["2026-02-28", "2026-03-31"]
    second = labels[labels[LABELLED_AT] == "2026-02-28"].reset_index(drop=True)
    assert second["Churn"].tolist() == frames[1]["Churn"].tolist()


def test_the_files_written_are_whole_and_named_by_month(tmp_path) -> None:
    import pandas as pd

    from mlrecipes.sample_data.drifted import write_drifted_months

    paths = write_drifted_months(tmp_path / "m", 40, 3, None, 5, labels=True)
    assert [p.name for p in paths] == [
        "telco_2026-01.csv", "telco_2026-02.csv", "telco_2026-03.csv", "labels.csv",
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted(p.name for p in paths)
    months = [pd.read_csv(p) for p in paths[:3]]
    # never drifted: no customer moves contract, fiber keeps its price
    assert (months[0]["Contract"] == months[2]["Contract"]).all()
    assert (months[0]["MonthlyCharges"] == months[2]["MonthlyCharges"]).all()


def test_sample_data_refuses_what_needs_months_and_a_month_past_the_end(tmp_path) -> None:
    from click.testing import CliRunner

    from mlrecipes.cli.main import app

    runner = CliRunner()
    for args, said in (
        (["--labels"], "--drift-from and --labels need --months"),
        (["--months", "3", "--drift-from", "3"], "--drift-from 3: months are 0..2"),
    ):
        out = runner.invoke(app, ["sample-data", "--out", str(tmp_path / "x"), *args])
        assert out.exit_code == 2 and said in out.output
    assert not (tmp_path / "x").exists()
    (tmp_path / "folder").mkdir()
    out = runner.invoke(app, ["sample-data", "--out", str(tmp_path / "folder")])
    assert out.exit_code == 2 and "is a folder" in out.output


def test_newest_snapshots_keeps_the_rows_of_the_n_newest_times_in_order() -> None:
    import pandas as pd

    from mlrecipes.features.training_set import newest_snapshots

    spine = pd.DataFrame(
        {"key": list("abcdef"), "at": ["2026-03-31", "2026-01-31", "2026-02-28",
                                       "2026-03-31", "2026-02-28", "2026-01-31"]}
    )  # fmt: skip
    assert newest_snapshots(spine, "at", 1)["key"].tolist() == ["a", "d"]
    assert newest_snapshots(spine, "at", 2)["key"].tolist() == ["a", "c", "d", "e"]
    assert len(newest_snapshots(spine, "at", 5)) == 6
