"""Batch scoring accepts what training accepted, and refuses genuinely wrong data clearly.

The template's model types ``TotalCharges`` as a string (the training data held blanks for
tenure-0 customers): a scoring batch with no blank, or with its first blank after the first
100,000 rows, is still valid input.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlrecipes.errors import StepError
from mlrecipes.execution.report import Reporter
from mlrecipes.recipe import Recipe
from tests.conftest import copy_template

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_template(tmp_path_factory.mktemp("scoring_contract") / "churn")
    Recipe("local", root=root, reporter=Reporter()).run()
    return root


def _score(
    root: Path, frame: pd.DataFrame, name: str, fmt: str = "csv", engine: str = "pandas"
) -> dict:
    path = root / "data" / f"{name}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    recipe = Recipe(
        "local",
        root=root,
        variables={
            "SCORING_DATA_LOCATION": str(path),
            "SCORING_DATA_FORMAT": fmt,
            "SCORING_OUTPUT_LOCATION": f"data/scores/{name}",
            "SCORING_ENGINE": engine,
        },
        reporter=Reporter(),
    )
    recipe.run("predict")
    return recipe.status("predict")


def _rows(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "telco_sample.csv").drop(columns=["Churn"])


def _read(root: Path, name: str) -> pd.DataFrame:
    from deltalake import DeltaTable

    return DeltaTable(str(root / "data" / "scores" / name)).to_pandas()


def test_a_batch_without_blank_total_charges_is_scored(trained: Path) -> None:
    rows = _rows(trained)
    no_blank = rows[rows["TotalCharges"].str.strip() != ""].head(500)
    status = _score(trained, no_blank, "no_blank")
    assert status["rows_scored"] == 500
    # A CSV is read as text: the numeric columns are parsed to the model's types.
    assert status["converted_columns"]["tenure"] == "long"
    assert "TotalCharges" not in status["converted_columns"]
    # Numbers handed over as parquet doubles score exactly as the same rows as text.
    as_numbers = no_blank.assign(TotalCharges=no_blank["TotalCharges"].astype(float))
    status = _score(trained, as_numbers, "no_blank_parquet", fmt="parquet")
    assert status["converted_columns"] == {"TotalCharges": "string"}
    a = _read(trained, "no_blank").sort_values("customerID")
    b = _read(trained, "no_blank_parquet").sort_values("customerID")
    np.testing.assert_allclose(a["predicted_score_Yes"], b["predicted_score_Yes"], rtol=1e-12)


def test_blanks_that_first_appear_after_100k_rows_are_scored(trained: Path) -> None:
    rows = _rows(trained)
    filled = rows[rows["TotalCharges"].str.strip() != ""]
    blanks = rows[rows["TotalCharges"].str.strip() == ""]
    assert len(blanks) > 0
    big = pd.concat([filled] * (110_000 // len(filled) + 1), ignore_index=True).head(110_000)
    frame = pd.concat([big, blanks], ignore_index=True)
    status = _score(trained, frame, "late_blanks")
    assert status["rows_scored"] == len(frame)
    scored = _read(trained, "late_blanks")
    assert scored["predicted_score_Yes"].notna().all()


def test_a_non_numeric_value_is_refused_naming_column_row_and_value(trained: Path) -> None:
    frame = _rows(trained).head(300)
    frame["MonthlyCharges"] = frame["MonthlyCharges"].astype(object)
    frame.loc[123, "MonthlyCharges"] = "abc"
    with pytest.raises(
        StepError,
        match=r"column 'MonthlyCharges', data row 124: 'abc' is not a valid double.*Nothing was",
    ):
        _score(trained, frame, "bad_value")
    assert not (trained / "data" / "scores" / "bad_value").exists()


def test_an_empty_scoring_file_names_the_users_file(trained: Path) -> None:
    path = trained / "data" / "empty.csv"
    path.write_text(",".join(_rows(trained).columns) + "\n")
    recipe = Recipe(
        "local",
        root=trained,
        variables={"SCORING_DATA_LOCATION": str(path), "SCORING_OUTPUT_LOCATION": "data/scores/e"},
        reporter=Reporter(),
    )
    with pytest.raises(StepError, match=rf"the data at {path} has no rows"):
        recipe.run("predict")


@pytest.mark.parametrize(
    "engine",
    [
        "pandas",
        pytest.param(
            "spark",
            marks=pytest.mark.skipif(
                shutil.which("java") is None, reason="the Spark engine needs a Java runtime (17)"
            ),
        ),
    ],
)
def test_a_column_that_is_entirely_empty_is_reported(trained: Path, engine: str) -> None:
    frame = _rows(trained).head(200)
    frame["PaymentMethod"] = None
    status = _score(trained, frame, f"null_column_{engine}", engine=engine)
    assert status["all_null_columns"] == ["PaymentMethod"]
    assert status["rows_scored"] == 200
    card = json.loads(
        (trained / ".mlrecipes/local/steps/predict/card.json").read_text(encoding="utf-8")
    )
    assert "PaymentMethod" in json.dumps(card)
