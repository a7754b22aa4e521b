"""The sample the project ships: IBM Telco schema and quirks, realistic marginals, determinism."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlrecipes.sample_data.telco import COLUMNS, generate, write_sample
from tests.conftest import REAL_DATA

INTERNET_ADD_ONS = [
    "OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies",
]  # fmt: skip


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return generate(20_000, seed=1)


def test_schema_and_quirks(sample: pd.DataFrame) -> None:
    assert list(sample.columns) == COLUMNS
    assert sample["customerID"].is_unique
    assert sample["customerID"].str.fullmatch(r"\d{4}-[A-Z]{5}").all()
    assert set(sample["SeniorCitizen"]) == {0, 1} and set(sample["Churn"]) == {"Yes", "No"}
    assert sample["tenure"].between(0, 72).all()
    blank = sample["TotalCharges"] == " "
    assert blank.any() and (sample.loc[blank, "tenure"] == 0).all()
    assert (sample.loc[sample["tenure"] == 0, "TotalCharges"] == " ").all()
    no_net = sample["InternetService"] == "No"
    for column in INTERNET_ADD_ONS:
        assert (sample.loc[no_net, column] == "No internet service").all()
        assert set(sample.loc[~no_net, column]) == {"Yes", "No"}
    assert (
        (sample["MultipleLines"] == "No phone service") == (sample["PhoneService"] == "No")
    ).all()


def test_total_charges_follow_tenure_times_monthly(sample: pd.DataFrame) -> None:
    billed = sample[sample["tenure"] > 0]
    ratio = pd.to_numeric(billed["TotalCharges"]) / (billed["tenure"] * billed["MonthlyCharges"])
    assert ratio.median() == pytest.approx(1.0, abs=0.02) and ratio.between(0.8, 1.2).mean() > 0.99


def test_marginals_match_the_published_data(sample: pd.DataFrame) -> None:
    assert (sample["Churn"] == "Yes").mean() == pytest.approx(0.265, abs=0.02)
    assert (sample["Contract"] == "Month-to-month").mean() == pytest.approx(0.55, abs=0.03)
    assert (sample["InternetService"] == "Fiber optic").mean() == pytest.approx(0.44, abs=0.03)
    assert (sample["PaymentMethod"] == "Electronic check").mean() == pytest.approx(0.336, abs=0.03)
    assert sample["MonthlyCharges"].between(18.25, 118.75).all()


def churn_rate(df: pd.DataFrame, mask: pd.Series) -> float:
    return float((df.loc[mask, "Churn"] == "Yes").mean())


def test_churn_drivers(sample: pd.DataFrame) -> None:
    s = sample
    assert churn_rate(s, s["Contract"] == "Month-to-month") > 2 * churn_rate(
        s, s["Contract"] != "Month-to-month"
    )
    assert churn_rate(s, s["InternetService"] == "Fiber optic") > churn_rate(
        s, s["InternetService"] == "DSL"
    )
    assert churn_rate(s, s["PaymentMethod"] == "Electronic check") > churn_rate(
        s, s["PaymentMethod"] != "Electronic check"
    )
    assert churn_rate(s, s["tenure"] < 12) > 2 * churn_rate(s, s["tenure"] >= 24)


def test_deterministic_for_a_seed_and_any_row_count(tmp_path: Path) -> None:
    assert generate(500, seed=3).equals(generate(500, seed=3))
    assert not generate(500, seed=3).equals(generate(500, seed=4))
    for rows in (1, 17):
        assert len(generate(rows)) == rows
    path = write_sample(tmp_path / "s.csv", rows=300, seed=5)
    again = write_sample(tmp_path / "t.csv", rows=300, seed=5)
    assert path.read_bytes() == again.read_bytes()
    read = pd.read_csv(path)
    assert (
        read["TotalCharges"].dtype == object
    )  # a string column, blanks included, as in the real file


@pytest.mark.skipif(not REAL_DATA.is_file(), reason=f"real IBM Telco data not found at {REAL_DATA}")
def test_sample_matches_the_real_data() -> None:
    real = pd.read_csv(REAL_DATA)
    fake = pd.read_csv(write_sample_to_memory())
    assert list(real.columns) == list(fake.columns)
    assert dict(real.dtypes.astype(str)) == dict(fake.dtypes.astype(str))
    for column in real.columns:
        if real[column].dtype == object and column not in ("customerID", "TotalCharges"):
            assert set(real[column]) == set(fake[column]), column
    assert (fake["Churn"] == "Yes").mean() == pytest.approx(
        (real["Churn"] == "Yes").mean(), abs=0.03
    )
    blank_real = (real["TotalCharges"] == " ").mean()
    blank_fake = (fake["TotalCharges"] == " ").mean()
    assert blank_fake == pytest.approx(blank_real, abs=0.005)
    assert fake["tenure"].mean() == pytest.approx(real["tenure"].mean(), abs=6)
    assert fake["MonthlyCharges"].mean() == pytest.approx(real["MonthlyCharges"].mean(), abs=6)


def write_sample_to_memory():
    import io

    buffer = io.StringIO()
    generate(7043, seed=42).to_csv(buffer, index=False)
    buffer.seek(0)
    return buffer
