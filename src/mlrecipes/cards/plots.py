"""Small matplotlib plots rendered to PNG bytes for cards (Agg backend, no display needed)."""

from __future__ import annotations

import io

import pandas as pd


def importance_bar_chart(table: pd.DataFrame, metric: str, top: int = 15) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    shown = table.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.2), dpi=100)
    ax.barh(shown["feature"], shown["importance"], xerr=shown["std"], color="#4c78a8")
    ax.set_xlabel(f"drop in {metric} when the column is shuffled")
    ax.set_title("Permutation feature importance (validation set)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
