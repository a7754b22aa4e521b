from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from mlrecipes.config.metrics import check_criteria
from mlrecipes.errors import UserCodeError
from mlrecipes.modeling.evaluation import builtin_metric, custom_metric_values, eval_frame


def test_criteria_statuses() -> None:
    directions = {"roc_auc": True, "log_loss": False}
    assert check_criteria({"roc_auc": 0.9}, [], directions)[0] == "UNKNOWN"
    status, results = check_criteria(
        {"roc_auc": 0.9, "log_loss": 0.3}, [("roc_auc", 0.8), ("log_loss", 0.4)], directions
    )
    assert status == "VALIDATED" and all(r.passed for r in results)
    status, results = check_criteria(
        {"roc_auc": 0.7, "log_loss": 0.3}, [("roc_auc", 0.8), ("log_loss", 0.4)], directions
    )
    assert status == "REJECTED"
    assert results[0].describe() == "roc_auc = 0.7 (needs >= 0.8): failed"
    assert check_criteria({}, [("roc_auc", 0.8)], directions)[0] == "REJECTED"


def test_eval_frame_for_binary_carries_positive_scores() -> None:
    y = pd.Series(["Yes", "No", "Yes"])
    proba = np.array([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]])
    df = eval_frame(y, np.array(["Yes", "No", "Yes"]), proba, ["No", "Yes"], "Yes")
    assert list(df.columns) == ["prediction", "target", "score", "is_positive"]
    assert df["score"].tolist() == [0.8, 0.1, 0.6] and df["is_positive"].tolist() == [
        True,
        False,
        True,
    ]


def test_custom_metric_errors_name_the_function() -> None:
    def broken(eval_df, builtin):
        raise KeyError("score")

    with pytest.raises(UserCodeError, match=r"custom metric .m.*raised KeyError"):
        custom_metric_values({"m": broken}, pd.DataFrame({"prediction": [1]}), {})
    with pytest.raises(UserCodeError, match="must return a number"):
        custom_metric_values({"m": lambda df, b: "high"}, pd.DataFrame({"prediction": [1]}), {})


def test_builtin_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = pd.Series(rng.choice(["a", "b"], 200))
    p = rng.random(200)
    proba = np.column_stack([1 - p, p])
    pred = np.where(p > 0.5, "b", "a")
    assert builtin_metric(
        "roc_auc", "classification/binary", y, pred, proba, ["a", "b"], "b"
    ) == pytest.approx(roc_auc_score(y == "b", p))
    assert builtin_metric(
        "f1_score", "classification/binary", y, pred, proba, ["a", "b"], "b"
    ) == pytest.approx(f1_score(y, pred, pos_label="b"))
    assert builtin_metric(
        "root_mean_squared_error",
        "regression",
        pd.Series([1.0, 2.0]),
        np.array([1.0, 4.0]),
        None,
        None,
        None,
    ) == pytest.approx(np.sqrt(2))


def test_multiclass_f1_macro_and_micro_are_distinct() -> None:
    y = pd.Series(["a"] * 8 + ["b", "c"])
    pred = np.array(["a"] * 10)
    task = "classification/multiclass"
    micro = builtin_metric("f1_score_micro", task, y, pred, None, None, None)
    macro = builtin_metric("f1_score_macro", task, y, pred, None, None, None)
    assert micro == pytest.approx(0.8)
    assert macro == pytest.approx(f1_score(y, pred, average="macro")) and macro < 0.4


def test_lift_top_decile_of_the_template() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "steps" / "custom_metrics.py"
    spec = importlib.util.spec_from_file_location("churn_custom_metrics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    n = 100
    is_pos = np.array([True] * 10 + [False] * 90)
    perfect = pd.DataFrame({"is_positive": is_pos, "score": is_pos.astype(float)})
    assert module.lift_top_decile(perfect, {}) == pytest.approx(10.0)
    useless = pd.DataFrame({"is_positive": is_pos, "score": np.full(n, 0.5)})
    assert module.lift_top_decile(useless, {}) == pytest.approx(1.0)


def test_multiclass_roc_auc_is_weighted_one_vs_rest_like_mlflow() -> None:
    rng = np.random.default_rng(3)
    y = pd.Series(rng.choice(["a", "b", "c"], 200, p=[0.6, 0.3, 0.1]))
    proba = rng.dirichlet([1, 1, 1], 200)
    value = builtin_metric(
        "roc_auc", "classification/multiclass", y, proba.argmax(1), proba, ["a", "b", "c"], None
    )
    weighted = roc_auc_score(
        y, proba, multi_class="ovr", average="weighted", labels=["a", "b", "c"]
    )
    macro = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=["a", "b", "c"])
    assert value == pytest.approx(weighted) and value != pytest.approx(macro)


def test_block_metrics_equal_their_scikit_learn_definitions() -> None:
    from sklearn.metrics import accuracy_score, mean_squared_error

    from mlrecipes.modeling.evaluation import (
        accuracy_by_block,
        negative_rmse_by_block,
        roc_auc_by_block,
    )

    rng = np.random.default_rng(4)
    truth = rng.random(300) < 0.3
    scores = np.round(rng.random((4, 300)) + 0.3 * truth, 1)  # rounding makes ties
    expected = [roc_auc_score(truth, row) for row in scores]
    assert roc_auc_by_block(truth, scores) == pytest.approx(expected, rel=1e-12)
    labels = rng.choice(["a", "b"], (3, 300))
    target = rng.choice(["a", "b"], 300)
    assert accuracy_by_block(target, labels) == pytest.approx(
        [accuracy_score(target, row) for row in labels]
    )
    values = rng.normal(size=(2, 300))
    y = rng.normal(size=300)
    assert negative_rmse_by_block(y, values) == pytest.approx(
        [-np.sqrt(mean_squared_error(y, row)) for row in values]
    )
    with pytest.raises(ValueError, match="both classes"):
        roc_auc_by_block(np.zeros(5, dtype=bool), scores[:, :5])


def test_permutation_importance_ranks_the_column_the_model_uses() -> None:
    from mlrecipes.modeling.estimators import permutation_importance
    from mlrecipes.modeling.evaluation import roc_auc_by_block

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    y = pd.Series(X["signal"] + 0.3 * rng.normal(size=400) > 0)
    table = permutation_importance(
        lambda frame: frame["signal"].to_numpy(), roc_auc_by_block, X, y, n_repeats=3
    )
    assert list(table["feature"]) == ["signal", "noise"]
    assert table.loc[0, "importance"] > 0.3 and table.loc[1, "importance"] == 0.0
