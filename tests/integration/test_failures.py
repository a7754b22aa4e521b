"""Bad input gets a clear error, a non-zero exit, and leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli, registered_versions

pytestmark = pytest.mark.slow


def run_fails(root: Path, *args: str) -> str:
    result = cli("run", "--profile", "local", *args, cwd=root)
    assert result.returncode != 0, result.stdout
    return result.stderr


def assert_nothing_left(root: Path, failed_step: str | None = None) -> None:
    steps_dir = root / ".mlrecipes" / "local" / "steps"
    if steps_dir.exists():
        leftovers = [p for p in steps_dir.rglob("*") if p.name.startswith((".tmp-", ".old-"))]
        assert leftovers == []
    if failed_step is not None:
        assert not (steps_dir / failed_step / "outputs").exists()
        state = json.loads((steps_dir / failed_step / "state.json").read_text())
        assert state["status"] == "FAILED"
        assert (steps_dir / failed_step / "card.html").is_file()
    assert registered_versions(root, "churn") == []


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_malformed_yaml_names_file_and_line(churn_recipe: Path) -> None:
    edit(
        churn_recipe / "recipe.yaml",
        "  split:\n    split_ratios",
        "  split:\n   split_ratios: [\n    split_ratios",
    )
    err = run_fails(churn_recipe)
    assert "recipe.yaml:" in err and "invalid YAML" in err
    line = int(err.split("recipe.yaml:")[1].split(":")[0])
    text = (churn_recipe / "recipe.yaml").read_text().split("\n")
    split_line = text.index("  split:") + 1  # the file's own numbering, before any {% if %}
    assert split_line < line <= split_line + 5
    assert not (churn_recipe / ".mlrecipes").exists()


def test_unknown_step_key_names_key_and_suggests(churn_recipe: Path) -> None:
    edit(churn_recipe / "recipe.yaml", "estimator_method:", "estimator_methd:")
    err = run_fails(churn_recipe)
    assert "steps.train.estimator_methd: unknown key" in err
    assert "did you mean 'estimator_method'" in err
    assert "recipe.yaml:" in err


def test_wrong_type_names_key_and_expectation(churn_recipe: Path) -> None:
    edit(
        churn_recipe / "recipe.yaml",
        "split_ratios: [0.75, 0.125, 0.125]",
        "split_ratios: [0.8, 0.2]",
    )
    err = run_fails(churn_recipe)
    assert "steps.split.split_ratios" in err and "expected 3 positive numbers" in err


def test_undefined_template_variable(churn_recipe: Path) -> None:
    edit(
        churn_recipe / "profiles" / "local.yaml",
        'INGEST_DATA_LOCATION: "data/telco_sample.csv"\n',
        "",
    )
    err = run_fails(churn_recipe)
    assert "undefined template variable" in err and "INGEST_DATA_LOCATION" in err
    assert "recipe.yaml:" in err


def test_missing_data_file(churn_recipe: Path) -> None:
    err = run_fails(churn_recipe, "--var", "INGEST_DATA_LOCATION=data/nope.csv")
    assert "data file 'data/nope.csv' not found" in err
    assert_nothing_left(churn_recipe, "ingest")


def test_missing_target_column(churn_recipe: Path) -> None:
    import pandas as pd

    data = churn_recipe / "data" / "telco_sample.csv"
    pd.read_csv(data).drop(columns=["Churn"]).to_csv(data, index=False)
    err = run_fails(churn_recipe)
    assert "target column 'Churn' not found" in err
    assert_nothing_left(churn_recipe, "ingest")


def test_target_with_one_class(churn_recipe: Path) -> None:
    import pandas as pd

    data = churn_recipe / "data" / "telco_sample.csv"
    df = pd.read_csv(data)
    df[df["Churn"] == "No"].to_csv(data, index=False)
    err = run_fails(churn_recipe)
    assert "single class" in err and "'Churn'" in err
    assert_nothing_left(churn_recipe, "ingest")


def test_empty_data(churn_recipe: Path) -> None:
    data = churn_recipe / "data" / "telco_sample.csv"
    data.write_text(data.read_text().splitlines()[0] + "\n")
    err = run_fails(churn_recipe)
    assert "no rows" in err
    assert_nothing_left(churn_recipe, "ingest")


def test_a_numeric_column_delivered_as_words_is_refused_at_ingest(churn_recipe: Path) -> None:
    # Before numeric_columns, "12 months" trained as a 72-level category and only the
    # validation thresholds (if any) noticed, with no word about the column.
    import pandas as pd

    data = churn_recipe / "data" / "telco_sample.csv"
    df = pd.read_csv(data)
    df["tenure"] = df["tenure"].astype(str) + " months"
    df.to_csv(data, index=False)
    err = run_fails(churn_recipe)
    assert (
        "steps.ingest: column 'tenure' is declared numeric (numeric_columns) but none of its "
        f"{len(df)} non-blank values are numbers" in err
    )
    assert "expected numbers" in err and " months'" in err  # an example value
    assert_nothing_left(churn_recipe, "ingest")


def test_step_function_that_raises_shows_its_traceback(churn_recipe: Path) -> None:
    edit(
        churn_recipe / "steps" / "transform.py",
        '    """Unfitted transformer; the recipe fits it on the training split (raw columns, no target)."""\n',
        '    """Unfitted transformer."""\n    raise ValueError("feature table is broken")\n',
    )
    err = run_fails(churn_recipe)
    assert "Traceback" in err and "steps/transform.py" in err
    assert 'raise ValueError("feature table is broken")' in err
    assert "steps/transform.py:transformer_fn raised ValueError: feature table is broken" in err
    assert_nothing_left(churn_recipe, "transform")
    # the steps before it stay cached and valid
    state = json.loads((churn_recipe / ".mlrecipes/local/steps/split/state.json").read_text())
    assert state["status"] == "SUCCEEDED"


def test_estimator_without_fit(churn_recipe: Path) -> None:
    edit(
        churn_recipe / "steps" / "train.py",
        "    return LogisticRegression(**params)",
        "    return object()",
    )
    err = run_fails(churn_recipe)
    assert "steps/train.py:estimator_fn must return" in err and "fit()" in err
    assert_nothing_left(churn_recipe, "train")


def test_threshold_no_model_meets_is_rejected_and_nothing_registered(churn_recipe: Path) -> None:
    edit(churn_recipe / "recipe.yaml", "threshold: 0.8\n", "threshold: 0.999\n")
    err = run_fails(churn_recipe)
    assert "REJECTED" in err and "roc_auc = 0." in err and ">= 0.999" in err
    status = json.loads(
        cli(
            "inspect", "--profile", "local", "--step", "evaluate", "--json", cwd=churn_recipe
        ).stdout
    )
    assert status["model_validation_status"] == "REJECTED"
    assert_nothing_left(churn_recipe, "register")


def test_unknown_step_and_profile(churn_recipe: Path) -> None:
    err = run_fails(churn_recipe, "--step", "trian")
    assert "step 'trian' not found" in err and "did you mean 'train'" in err
    result = cli("run", "--profile", "prdo", cwd=churn_recipe)
    assert result.returncode == 1 and "profile 'prdo' not found" in result.stderr
