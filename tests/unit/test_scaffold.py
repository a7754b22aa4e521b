"""`mlrecipes init`'s decisions, without a run: what it reads from a table, the criteria its
baseline sets, and the one-source rule (the repository's template is init's rendering of churn)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlrecipes.errors import ConfigError, DatasetError
from mlrecipes.scaffold.__main__ import DECLARATION, stale_files
from mlrecipes.scaffold.baseline import measure_baseline
from mlrecipes.scaffold.init import plan_project
from mlrecipes.scaffold.project import SHARED_FILES, Declaration, render
from mlrecipes.scaffold.table import describe_table
from tests.conftest import REPO


@pytest.fixture(scope="module")
def telco(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlrecipes.sample_data.telco import write_sample

    return write_sample(tmp_path_factory.mktemp("telco") / "telco_sample.csv", rows=2000, seed=3)


def signal_table(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "premium"], size=rows)
    months = rng.integers(1, 60, size=rows)
    fee = rng.normal(50, 10, rows).round(2).astype(str)
    fee[rng.random(rows) < 0.03] = " "
    logit = -0.5 - 0.05 * months + 1.2 * (plan == "basic")
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(rows)],
            "plan": plan,
            "months": months,
            "fee": fee,
            "left": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


def test_the_repository_template_is_inits_rendering_of_its_own_declaration() -> None:
    assert stale_files(REPO) == {}, "run: python -m mlrecipes.scaffold ."


def test_init_on_the_telco_sample_reproduces_the_template_up_to_its_declarations(
    telco: Path, tmp_path: Path
) -> None:
    plan = plan_project(
        tmp_path / "churn", telco, "Churn", positive_class="Yes", id_columns=["customerID"],
        baseline=False,
    )  # fmt: skip
    ours = Declaration.from_yaml(REPO / DECLARATION)
    detected = plan.declaration
    for key in ("name", "target", "task", "positive_class", "id_columns", "numeric_columns",
                "text_numbers", "not_features"):  # fmt: skip
        assert getattr(detected, key) == getattr(ours, key), key
    # what the repository declares by hand: the data it generates, churn's criteria and wording
    declared = {
        k: getattr(ours, k)
        for k in ("title", "criteria", "criteria_note", "data_location", "snapshots_location",
                  "positive_share", "in_repository", "table_description")
    }  # fmt: skip
    rendered = render(replace(detected, **declared), SHARED_FILES)
    for path, text in rendered.items():
        assert text == (REPO / path).read_text(encoding="utf-8"), path
    notebooks = sorted(p for p in plan.files if p.startswith("notebooks/"))
    assert notebooks == sorted(str(p.relative_to(REPO)) for p in REPO.glob("notebooks/*.ipynb"))
    for path in notebooks:
        assert plan.files[path] == (REPO / path).read_text(encoding="utf-8"), path


def test_columns_get_their_roles(tmp_path: Path) -> None:
    spec = describe_table(signal_table(), "left")
    assert spec.task == "classification" and spec.positive_class == 1
    assert spec.id_columns == ["account_id"]  # detected: a name ending in id, unique
    assert spec.numeric == ["months"] and spec.text_numbers == ["fee"]
    assert spec.categorical == ["plan"]
    assert spec.positive_share == pytest.approx(signal_table()["left"].mean())


def test_the_positive_class_is_the_given_value_in_the_columns_own_type() -> None:
    frame = signal_table()
    assert describe_table(frame, "left", positive_class="0").positive_class == 0
    words = frame.assign(left=frame["left"].map({1: "No", 0: "Yes"}))
    assert describe_table(words, "left").positive_class == "Yes"  # the yes-like one
    other = frame.assign(left=frame["left"].map({1: "gone", 0: "stayed"}))
    rarer = other["left"].value_counts().idxmin()
    assert describe_table(other, "left").positive_class == rarer
    with pytest.raises(DatasetError, match=r"--positive-class 'maybe' is not a value of 'left'"):
        describe_table(frame, "left", positive_class="maybe")


def test_a_numeric_target_with_many_values_is_regression_and_a_few_levels_are_asked() -> None:
    frame = signal_table()
    spec = describe_table(frame.assign(left=frame["months"] * 1.5 + 0.25), "left", drop=["months"])
    assert spec.task == "regression" and spec.positive_class is None
    with pytest.raises(DatasetError, match="has 4 integer levels: classes or a count"):
        describe_table(frame.assign(left=frame["months"] % 4), "left")
    assert describe_table(frame.assign(left=frame["months"] % 4), "left", task="regression")


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda f: f.assign(left=1), {}, r"target column 'left' is constant \(1 on every row\)"),
        (lambda f: f, {"target": "lef"}, r"no column 'lef' for --target .*did you mean 'left'"),
        (
            lambda f: f.assign(account_id="A1"),
            {},
            r"no --id given and no column looks like a key",
        ),
        (
            lambda f: f.assign(account_id=[f"A{i // 2}" for i in range(len(f))]),
            {"id_columns": ["account_id"]},
            r"id 'account_id' is not unique: 1200 rows share a key \(e.g. A0\)",
        ),
        (
            lambda f: f.assign(note=[f"free text {i}" for i in range(len(f))]),
            {},
            r"column 'note' has a distinct value on most rows .*--drop note",
        ),
        (lambda f: f.assign(empty=np.nan), {}, r"column 'empty' holds no values"),
        (
            lambda f: f.assign(signup=pd.date_range("2024-01-01", periods=len(f)).astype(str)),
            {},
            r"column 'signup' holds dates.*--time signup",
        ),
    ],
)
def test_unusable_tables_are_refused_naming_the_column(change, kwargs, message) -> None:
    target = kwargs.pop("target", "left")
    with pytest.raises(DatasetError, match=message):
        describe_table(change(signal_table()), target, **kwargs)


def test_a_key_must_be_unique_within_a_snapshot_only() -> None:
    frame = signal_table(400)
    months = pd.concat([frame.assign(at="2026-01-31"), frame.assign(at="2026-02-28")])
    spec = describe_table(months, "left", time_column="at")
    assert spec.id_columns == ["account_id"] and spec.time_column == "at"
    with pytest.raises(DatasetError, match=r"not unique within one snapshot \('at'\)"):
        describe_table(
            pd.concat([months, months.head(3)]), "left", id_columns=["account_id"], time_column="at"
        )


def test_the_baseline_criteria_pass_a_model_like_the_baseline_and_refuse_chance() -> None:
    frame = signal_table(6000)
    baseline = measure_baseline(frame, describe_table(frame, "left"))
    criteria = {c.metric: c.threshold for c in baseline.criteria}
    auc, f1 = np.mean(baseline.scores["roc_auc"]), np.mean(baseline.scores["f1_score"])
    assert auc > 0.7 and 0.5 < criteria["roc_auc"] < auc - 0.02
    assert baseline.majority["f1_score"] < criteria["f1_score"] < f1 - 0.02
    houses = frame.assign(left=frame["months"] * 3.0 + np.random.default_rng(1).normal(0, 5, 6000))
    spec = describe_table(houses, "left", drop=["months"], task="regression")
    errors = measure_baseline(houses, spec)
    rmse = {c.metric: c.threshold for c in errors.criteria}["root_mean_squared_error"]
    assert np.mean(errors.scores["root_mean_squared_error"]) < rmse < houses["left"].std()


def test_on_a_small_table_a_bar_no_better_than_the_majority_class_is_not_set() -> None:
    """On 600 rows the test split holds ~16 positives: an F1 bar 2.5 standard errors below the
    baseline lies under the F1 of calling everyone positive, so it would catch nothing; on 400,
    neither bar would, and what is left is "no worse than chance"."""
    frame = signal_table(600, seed=2)
    baseline = measure_baseline(frame, describe_table(frame, "left"))
    assert [c.metric for c in baseline.criteria] == ["roc_auc"]
    assert baseline.dropped == ["f1_score"] and "no f1_score criterion" in baseline.note()
    assert baseline.criteria[0].threshold > 0.5
    tiny = signal_table(400, seed=2)
    chance = measure_baseline(tiny, describe_table(tiny, "left"))
    assert [(c.metric, c.threshold) for c in chance.criteria] == [("roc_auc", 0.5)]


def test_a_folder_that_holds_a_project_is_refused_before_the_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text("recipe: classification/v1\n")
    with pytest.raises(ConfigError, match=r"already holds a project \(recipe.yaml\)"):
        plan_project(tmp_path, tmp_path / "missing.csv", "left")


def test_a_regression_project_is_monitored_by_its_errors(tmp_path: Path) -> None:
    frame = signal_table()
    data = tmp_path / "houses.parquet"
    frame.assign(left=frame["months"] * 1.5 + 0.5).to_parquet(data, index=False)
    plan = plan_project(tmp_path / "houses", data, "left", drop=["months"], baseline=False)
    assert (
        "resources/monitoring.yml" in plan.files
        and "resources/retraining_trigger.yml" in plan.files
    )
    assert "steps/custom_metrics.py" not in plan.files  # lift is a classifier's metric
    notebooks = [p for p in plan.files if p.startswith("notebooks/")]
    assert notebooks == ["notebooks/train_and_inspect.ipynb"]  # the others plot P(positive)
    recipe = plan.files["recipe.yaml"]
    assert 'recipe: "regression/v1"' in recipe and "positive_class" not in recipe
    assert "error_increase: {warn: 0.1, alert: 0.2}" in recipe and "performance_drop" not in recipe
    assert "calibrate_proba" not in recipe and 'primary_metric: "root_mean_squared_error"' in recipe
    assert 'INGEST_DATA_FORMAT: "parquet"' in plan.files["profiles/local.yaml"]


def test_a_small_table_gets_validation_and_test_splits_deploy_can_compare_on(
    tmp_path: Path,
) -> None:
    data = tmp_path / "small.csv"
    signal_table(220).to_csv(data, index=False)
    plan = plan_project(tmp_path / "small", data, "left", baseline=False)
    assert plan.declaration.split_ratios == [0.62, 0.19, 0.19]  # about 40 rows each
    assert "    split_ratios: [0.62, 0.19, 0.19]\n" in plan.files["recipe.yaml"]
    signal_table(80).to_csv(data, index=False)
    with pytest.raises(DatasetError, match=r"small.csv: 80 rows; .* needs 100 at least"):
        plan_project(tmp_path / "small", data, "left", baseline=False)
