"""The shared kernels: one ROC AUC (per row, and from counts per score cell) equal to
scikit-learn's, and one reading of numbers stored as text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mlrecipes.stats.auc import roc_auc_from_counts, roc_auc_rows
from mlrecipes.stats.text_numbers import numbers_in_text


def test_roc_auc_rows_equals_scikit_learn_row_by_row_with_ties() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random((40, 300)) < 0.3
    scores = np.round(rng.random((40, 300)) + 0.3 * truth, 1)  # rounded: many ties
    expected = [roc_auc_score(t, s) for t, s in zip(truth, scores, strict=True)]
    assert roc_auc_rows(truth, scores) == pytest.approx(expected, rel=1e-12)
    shared = truth[0]
    assert roc_auc_rows(shared, scores) == pytest.approx(
        [roc_auc_score(shared, s) for s in scores], rel=1e-12
    )


def test_roc_auc_rows_is_nan_for_a_row_with_one_class() -> None:
    truth = np.array([[True, True, True], [True, False, False]])
    scores = np.array([[0.1, 0.2, 0.3], [0.9, 0.2, 0.3]])
    out = roc_auc_rows(truth, scores)
    assert np.isnan(out[0]) and out[1] == 1.0


def test_roc_auc_from_counts_equals_scikit_learn_on_the_cells_scores() -> None:
    rng = np.random.default_rng(5)
    cells = rng.integers(0, 20, 5000)  # a score cell per row: rows in one cell are ties
    truth = rng.random(5000) < 0.2 + 0.03 * cells
    positives = np.bincount(cells[truth], minlength=20)
    negatives = np.bincount(cells[~truth], minlength=20)
    assert roc_auc_from_counts(positives, negatives) == pytest.approx(
        roc_auc_score(truth, cells), rel=1e-12
    )
    assert np.isnan(roc_auc_from_counts(positives, np.zeros(20)))


def test_numbers_in_text_reads_blanks_as_missing_and_keeps_real_text_as_text() -> None:
    parsed = numbers_in_text(pd.Series(["29.85", " ", None, "1889.5"], name="TotalCharges"))
    assert parsed is not None and parsed.name == "TotalCharges"
    assert parsed.tolist()[0] == 29.85 and parsed.isna().tolist() == [False, True, True, False]
    assert numbers_in_text(pd.Series(["1", "two"])) is None
    assert numbers_in_text(pd.Series([1.0, 2.0])) is None
    assert numbers_in_text(pd.Series([" ", None])) is None
    mostly = pd.Series([str(i) for i in range(199)] + ["n/a"])
    assert numbers_in_text(mostly) is None
    tolerant = numbers_in_text(mostly, min_share=0.99)
    assert tolerant is not None and tolerant.isna().sum() == 1
