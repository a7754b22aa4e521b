"""Card plots rendered to PNG bytes, drawn from predictions already in hand.

Figures use the object-oriented API on an Agg canvas: no pyplot, so the caller's matplotlib
backend (e.g. inline plots in a notebook) is left alone.

Binary classifiers with scores get the five plots MLflow's evaluator draws (ROC, precision-recall,
confusion matrix, calibration, lift); multiclass gets the confusion matrix and one-vs-rest ROC
curves; regression gets predicted-vs-actual and a residual histogram. Curves come from
scikit-learn; figures are small, fixed-layout Agg figures (no pyplot, no tight_layout pass).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

_SIZE = (5.0, 4.0)
_DPI = 90
_COLOR = "#4c78a8"


def classifier_plots(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list | None,
    positive: Any,
) -> dict[str, bytes]:
    labels = list(classes) if classes is not None else sorted(set(y_true) | set(y_pred))
    plots = {"confusion_matrix": _confusion(y_true, y_pred, labels)}
    if proba is None:
        return plots
    if positive is not None and len(labels) == 2:
        is_positive = y_true == positive
        scores = proba[:, labels.index(positive)]
        plots["roc_curve_plot"] = _roc(is_positive, scores)
        plots["precision_recall_curve_plot"] = _precision_recall(is_positive, scores)
        plots["calibration_curve_plot"] = calibration_plot(is_positive, scores, "Calibration")
        plots["lift_curve_plot"] = _lift(is_positive, scores)
    else:
        plots["roc_curve_plot"] = _roc_one_vs_rest(y_true, proba, labels)
    return plots


def regression_plots(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, bytes]:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    fig, ax = _figure()
    ax.scatter(y_true, y_pred, s=6, alpha=0.5, color=_COLOR)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], linestyle="--", color="#999999")
    _labels(ax, "Predicted vs actual", "actual", "predicted")
    plots = {"predicted_vs_actual_plot": _png(fig)}
    fig, ax = _figure()
    ax.hist(y_pred - y_true, bins=40, color=_COLOR)
    _labels(ax, "Residuals", "prediction - actual", "rows")
    plots["residuals_plot"] = _png(fig)
    return plots


def calibration_plot(is_positive: np.ndarray, scores: np.ndarray, title: str) -> bytes:
    """Reliability diagram: observed positive rate against mean predicted probability per bin."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(is_positive, scores, n_bins=10, strategy="uniform")
    fig, ax = _figure()
    _diagonal(ax, "perfectly calibrated")
    ax.plot(predicted, observed, marker="o", color=_COLOR, label="model")
    ax.legend(loc="upper left", fontsize=8)
    _labels(ax, title, "mean predicted probability", "fraction of positives")
    return _png(fig)


def importance_bar_chart(table: pd.DataFrame, metric: str, top: int = 15) -> bytes:
    shown = table.head(top).iloc[::-1]
    height = 0.3 * len(shown) + 1.1
    fig, ax = _figure(size=(7, height))
    # Room for the longest feature name (~0.075 in per character at 10 pt), computed rather than
    # found by tight_layout, which costs more than drawing the chart.
    longest = max((len(str(name)) for name in shown["feature"]), default=1)
    left = min(0.55, (0.15 + 0.075 * longest) / 7)
    fig.subplots_adjust(left=left, right=0.97, top=1 - 0.4 / height, bottom=0.55 / height)
    ax.barh(shown["feature"].astype(str), shown["importance"], xerr=shown["std"], color=_COLOR)
    _labels(ax, "Permutation importance (validation)", f"drop in {metric} when shuffled", "")
    return _png(fig)


def _roc(is_positive: np.ndarray, scores: np.ndarray) -> bytes:
    from sklearn.metrics import auc, roc_curve

    fpr, tpr, _ = roc_curve(is_positive, scores)
    fig, ax = _figure()
    _diagonal(ax, "chance")
    ax.plot(fpr, tpr, color=_COLOR, label=f"AUC = {auc(fpr, tpr):.3f}")
    ax.legend(loc="lower right", fontsize=8)
    _labels(ax, "ROC curve", "false positive rate", "true positive rate")
    return _png(fig)


def _roc_one_vs_rest(y_true: np.ndarray, proba: np.ndarray, labels: list) -> bytes:
    from sklearn.metrics import auc, roc_curve

    fig, ax = _figure()
    _diagonal(ax, "chance")
    for i, label in enumerate(labels):
        fpr, tpr, _ = roc_curve(y_true == label, proba[:, i])
        ax.plot(fpr, tpr, label=f"{label} (AUC = {auc(fpr, tpr):.3f})")
    ax.legend(loc="lower right", fontsize=7)
    _labels(ax, "ROC curves (one vs rest)", "false positive rate", "true positive rate")
    return _png(fig)


def _precision_recall(is_positive: np.ndarray, scores: np.ndarray) -> bytes:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, _ = precision_recall_curve(is_positive, scores)
    fig, ax = _figure()
    ax.step(recall, precision, where="post", color=_COLOR)
    ax.axhline(is_positive.mean(), linestyle="--", color="#999999", label="positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right", fontsize=8)
    ap = average_precision_score(is_positive, scores)
    _labels(ax, f"Precision-recall (AP = {ap:.3f})", "recall", "precision")
    return _png(fig)


def _lift(is_positive: np.ndarray, scores: np.ndarray) -> bytes:
    """Cumulative lift: positive rate among the top-scored fraction over the overall rate."""
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(is_positive[order])
    reached = np.arange(1, len(order) + 1)
    lift = (hits / reached) / max(is_positive.mean(), 1e-12)
    fig, ax = _figure()
    ax.plot(reached / len(order), lift, color=_COLOR)
    ax.axhline(1.0, linestyle="--", color="#999999", label="random")
    ax.set_xlim(0, 1)
    ax.legend(loc="upper right", fontsize=8)
    _labels(ax, "Cumulative lift", "fraction of rows, highest scores first", "lift")
    return _png(fig)


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, labels: list) -> bytes:
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    fig, ax = _figure()
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(labels))
    ax.set_xticks(ticks, [str(v) for v in labels])
    ax.set_yticks(ticks, [str(v) for v in labels])
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > threshold else "black")  # fmt: skip
    _labels(ax, "Confusion matrix", "predicted label", "true label")
    return _png(fig)


def _figure(size: tuple[float, float] = _SIZE) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.15, right=0.96, top=0.9, bottom=0.13)
    return fig, fig.add_subplot()


def _diagonal(ax: Any, label: str) -> None:
    ax.plot([0, 1], [0, 1], linestyle="--", color="#999999", label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)


def _labels(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def roc_comparison(is_positive: np.ndarray, curves: dict[str, np.ndarray]) -> bytes:
    """ROC curves of several models' scores on the same rows (the deploy card)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = _figure()
    _diagonal(ax, "chance")
    for (label, scores), color in zip(curves.items(), (_COLOR, "#f58518", "#54a24b"), strict=False):
        fpr, tpr, _ = roc_curve(is_positive, scores)
        auc = roc_auc_score(is_positive, scores)
        ax.plot(fpr, tpr, color=color, label=f"{label} (AUC {auc:.3f})")
    ax.legend(loc="lower right", fontsize=8)
    _labels(ax, "ROC on the holdout", "false positive rate", "true positive rate")
    return _png(fig)


def bootstrap_histogram(improvements: np.ndarray, low: float, high: float, metric: str) -> bytes:
    """The paired bootstrap distribution of the challenger's improvement, with its interval."""
    fig, ax = _figure()
    ax.hist(improvements, bins=40, color=_COLOR)
    for x, style in ((low, "--"), (high, "--"), (0.0, "-")):
        ax.axvline(x, color="#e45756" if x == 0.0 else "#333333", linestyle=style, linewidth=1)
    _labels(ax, "Challenger - champion (bootstrap)", f"improvement in {metric}", "resamples")
    return _png(fig)


def calibration_comparison(
    is_positive: np.ndarray, curves: dict[str, np.ndarray], title: str
) -> bytes:
    """Reliability diagrams of several score sets on the same rows (before / after calibration),
    each labelled with its mean predicted probability against the observed rate."""
    from sklearn.calibration import calibration_curve

    fig, ax = _figure()
    _diagonal(ax, f"perfectly calibrated (observed rate {np.mean(is_positive):.3f})")
    for (label, scores), color in zip(curves.items(), ("#f58518", _COLOR), strict=False):
        observed, predicted = calibration_curve(is_positive, scores, n_bins=10, strategy="uniform")
        ax.plot(
            predicted,
            observed,
            marker="o",
            color=color,
            label=f"{label}, mean {np.mean(scores):.3f}",
        )
    ax.legend(loc="upper left", fontsize=8)
    _labels(ax, title, "mean predicted probability", "fraction of positives")
    return _png(fig)
