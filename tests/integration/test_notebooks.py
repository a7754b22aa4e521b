"""The template's notebooks run top to bottom in a real kernel against the local profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_template, execute_notebook, registered_versions

pytestmark = pytest.mark.slow


def outputs_of(book) -> str:
    texts = []
    for cell in book.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", ""))
            texts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(texts)


def test_train_and_inspect_notebook(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=3000)
    book = execute_notebook(root / "notebooks" / "train_and_inspect.ipynb", cwd=root / "notebooks")
    text = outputs_of(book)
    assert "VALIDATED" in text and "challenger" in text
    assert "Model Performance Plots" in text  # the evaluate card, displayed inline
    assert "predicted_score_Yes" in text
    # run again, as a person re-runs a notebook: cached, nothing wiped, no new version (#29)
    ingest = root / ".mlrecipes" / "local" / "steps" / "ingest" / "state.json"
    before = ingest.read_text()
    again = outputs_of(
        execute_notebook(root / "notebooks" / "train_and_inspect.ipynb", cwd=root / "notebooks")
    )
    assert "VALIDATED" in again and ingest.read_text() == before  # ingest did not run again
    assert registered_versions(root, "churn") == ["1"]


def test_batch_scoring_notebook(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=3000)
    book = execute_notebook(root / "notebooks" / "batch_scoring.ipynb", cwd=root / "notebooks")
    text = outputs_of(book)
    assert "champion: version 1" in text
    assert "3000 rows scored with models:/churn@champion" in text
    assert any(
        "image/png" in out.get("data", {}) for c in book.cells for out in c.get("outputs", [])
    )


def test_champion_challenger_notebook(tmp_path: Path) -> None:
    root = copy_template(tmp_path / "churn", rows=3000)
    book = execute_notebook(
        root / "notebooks" / "champion_challenger.ipynb", cwd=root / "notebooks"
    )
    text = outputs_of(book)
    assert any(word in text for word in ("KEPT -", "PROMOTED -"))
    assert "95% interval" in text and "challenger v2" in text
    assert "first_champion" in text  # the history table
    assert any(
        "image/png" in out.get("data", {}) for c in book.cells for out in c.get("outputs", [])
    )


def test_an_init_regression_project_gets_a_notebook_that_runs(tmp_path: Path) -> None:
    """`mlrecipes init` gives a regression project the notebook that fits every recipe (#26)."""
    import numpy as np
    import pandas as pd

    from tests.conftest import cli

    rng = np.random.default_rng(2)
    rooms = rng.integers(1, 8, 800)
    district = rng.choice(["north", "south", "centre"], 800)
    price = 50 * rooms + np.where(district == "centre", 150, 0) + rng.normal(0, 30, 800)
    pd.DataFrame(
        {"house_id": [f"H{i}" for i in range(800)], "rooms": rooms, "district": district,
         "price": price.round(1)}
    ).to_csv(tmp_path / "houses.csv", index=False)  # fmt: skip
    made = cli("init", "houses", "--data", "houses.csv", "--target", "price", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    root = tmp_path / "houses"
    assert [p.name for p in (root / "notebooks").iterdir()] == ["train_and_inspect.ipynb"]
    book = execute_notebook(root / "notebooks" / "train_and_inspect.ipynb", cwd=root / "notebooks")
    text = outputs_of(book)
    assert "VALIDATED" in text and "training rows; target mean" in text
