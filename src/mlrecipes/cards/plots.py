"""Small matplotlib plots rendered to PNG bytes for cards.

Figures are drawn with the object-oriented API on an Agg canvas: no pyplot, so the caller's
matplotlib backend (e.g. inline plots in a notebook) is left alone.
"""

from __future__ import annotations

import io

import pandas as pd


def importance_bar_chart(table: pd.DataFrame, metric: str, top: int = 15) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = table.head(top).iloc[::-1]
    fig = Figure(figsize=(7, 0.35 * len(shown) + 1.2), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(shown["feature"], shown["importance"], xerr=shown["std"], color="#4c78a8")
    ax.set_xlabel(f"drop in {metric} when the column is shuffled")
    ax.set_title("Permutation feature importance (validation set)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
