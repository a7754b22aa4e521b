from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mlrecipes.cards.plots import (
    calibration_plot,
    classifier_plots,
    importance_bar_chart,
    regression_plots,
)


def _size(png: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(png))
    image.verify()  # raises on a truncated or corrupt PNG
    return Image.open(io.BytesIO(png)).size


@pytest.fixture
def binary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.where(rng.random(400) < 0.3, "Yes", "No")
    p_yes = np.clip(0.3 + 0.4 * (y == "Yes") + rng.normal(0, 0.2, 400), 0, 1)
    proba = np.column_stack([1 - p_yes, p_yes])
    return y, np.where(p_yes > 0.5, "Yes", "No"), proba


def test_binary_classifier_gets_the_five_plots_mlflow_drew(binary) -> None:
    y, pred, proba = binary
    plots = classifier_plots(y, pred, proba, ["No", "Yes"], "Yes")
    assert set(plots) == {
        "roc_curve_plot",
        "precision_recall_curve_plot",
        "confusion_matrix",
        "calibration_curve_plot",
        "lift_curve_plot",
    }
    for png in plots.values():
        assert _size(png) == (450, 360)  # 5 x 4 in at 90 dpi


def test_classifier_without_scores_gets_only_the_confusion_matrix(binary) -> None:
    y, pred, _ = binary
    assert set(classifier_plots(y, pred, None, ["No", "Yes"], "Yes")) == {"confusion_matrix"}


def test_multiclass_gets_confusion_and_one_vs_rest_roc() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b", "c"], 300)
    proba = rng.dirichlet([1, 1, 1], 300)
    pred = np.array(["a", "b", "c"])[proba.argmax(axis=1)]
    plots = classifier_plots(y, pred, proba, ["a", "b", "c"], None)
    assert set(plots) == {"confusion_matrix", "roc_curve_plot"}


def test_regression_plots() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(10, 2, 200)
    plots = regression_plots(y, y + rng.normal(0, 1, 200))
    assert set(plots) == {"predicted_vs_actual_plot", "residuals_plot"}
    assert all(_size(png)[0] > 100 for png in plots.values())


def test_calibration_and_importance_charts_are_pngs(binary) -> None:
    import pandas as pd

    y, _, proba = binary
    assert _size(calibration_plot(y == "Yes", proba[:, 1], "Calibration"))[0] == 450
    table = pd.DataFrame(
        {
            "feature": ["a_very_long_feature_name_indeed", "b"],
            "importance": [0.1, 0.02],
            "std": [0.01, 0.0],
        }
    )
    width, height = _size(importance_bar_chart(table, "roc_auc"))
    assert width == 630 and height > 100


def test_numbers_stored_as_text_are_profiled_as_numbers() -> None:
    import pandas as pd

    from mlrecipes.cards.profiles import column_profile

    profile = column_profile(pd.Series(["29.85", " ", "1889.5", "108.15"], name="TotalCharges"))
    assert profile["type"] == "object (numbers as text)"
    assert profile["missing"] == "25.0%" and profile["summary"].startswith("min 29.85")
