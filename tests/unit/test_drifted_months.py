"""The demo's months (#25): each month's churn follows the stated drivers in every group."""

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
    for month, frame in enumerate(drifted_months(customers, months=3, drift_from=1, seed=seed)):
        z = churn_logit(frame) + intercept
        if month >= 1:
            z = z + MAILED_CHECK_EFFECT * (frame["PaymentMethod"] == "Mailed check").to_numpy()
        expected = 1 / (1 + np.exp(-z))
        churned = (frame["Churn"] == "Yes").to_numpy()
        for contract in frame["Contract"].unique():
            group = (frame["Contract"] == contract).to_numpy()
            gap = abs(churned[group].mean() - expected[group].mean())
            assert gap < 0.05, (month, contract, gap)


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
