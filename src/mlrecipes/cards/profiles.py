"""Data profile, schema and preview tabs for DataFrames: offline, no JavaScript, no CDN.

The profile shows per column: type, missing share, distinct count, min/mean/max (numeric) or the top
levels (categorical), and a small inline-SVG histogram.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from markupsafe import escape

from mlrecipes.cards.model import Tab

PROFILE_MAX_ROWS = 200_000
_BINS = 20
MIN_LEVEL_COUNT = 2  # levels rarer than this are individual rows' values


def _sample(df: pd.DataFrame) -> pd.DataFrame:
    return df.sample(PROFILE_MAX_ROWS, random_state=42) if len(df) > PROFILE_MAX_ROWS else df


def _svg_bars(counts: list[float], width: int = 120, height: int = 28) -> str:
    if not counts or max(counts) <= 0:
        return ""
    peak = max(counts)
    bar = width / len(counts)
    rects = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - (c / peak) * height:.1f}" '
        f'width="{max(bar - 1, 1):.1f}" height="{(c / peak) * height:.1f}"/>'
        for i, c in enumerate(counts)
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'fill="#4c78a8">{rects}</svg>'
    )


def column_profile(series: pd.Series) -> dict:
    from mlrecipes.modeling.data_checks import numbers_in_text

    numbers = numbers_in_text(series)
    if numbers is not None:  # numbers stored as text: profiled as numbers, blanks as missing
        profile = column_profile(numbers.rename(series.name))
        profile["type"] = f"{series.dtype} (numbers as text)"
        return profile
    n = len(series)
    missing = int(series.isna().sum())
    non_null = series.dropna()
    info = {
        "column": str(series.name),
        "type": str(series.dtype),
        "missing": f"{missing / n:.1%}" if n else "n/a",
        "distinct": int(non_null.nunique()),
        "summary": "",
        "histogram": "",
    }
    if non_null.empty:
        return info
    if pd.api.types.is_bool_dtype(non_null):
        non_null = non_null.astype(str)
    if pd.api.types.is_numeric_dtype(non_null):
        values = non_null.to_numpy(dtype=float)
        info["summary"] = (
            f"min {values.min():.4g} · mean {values.mean():.4g} · max {values.max():.4g}"
        )
        counts, _ = np.histogram(values, bins=_BINS)
        info["histogram"] = _svg_bars(counts.tolist())
    else:
        # a level seen once is one row's value (a customer's id), not a statistic: never shown
        counts = non_null.astype(str).value_counts()
        top = counts[counts >= MIN_LEVEL_COUNT].head(5)
        info["summary"] = " · ".join(f"{k} ({v / len(non_null):.0%})" for k, v in top.items())
        if top.empty:
            info["summary"] = f"no value seen {MIN_LEVEL_COUNT} times or more (none shown)"
        info["histogram"] = _svg_bars(top.tolist())
    return info


def profile_html(df: pd.DataFrame) -> str:
    rows = [column_profile(df[c]) for c in _sample(df).columns]
    head = "".join(
        f"<th>{h}</th>" for h in ("Column", "Type", "Missing", "Distinct", "Summary", "Histogram")
    )
    body = "".join(
        "<tr>"
        f"<td>{escape(r['column'])}</td><td>{escape(r['type'])}</td>"
        f"<td class='num'>{r['missing']}</td><td class='num'>{r['distinct']}</td>"
        f"<td>{escape(r['summary'])}</td><td>{r['histogram']}</td>"
        "</tr>"
        for r in rows
    )
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def data_profile_tab(df: pd.DataFrame, name: str = "Data Profile") -> Tab:
    tab = Tab(name)
    note = (
        f" (profiled on a sample of {PROFILE_MAX_ROWS:,} rows)"
        if len(df) > PROFILE_MAX_ROWS
        else ""
    )
    tab.text(f"{len(df):,} rows × {len(df.columns)} columns{note}")
    tab.html(profile_html(df))
    return tab


def schema_tab(df: pd.DataFrame, name: str = "Data Schema") -> Tab:
    schema = pd.DataFrame(
        {"name": [str(c) for c in df.columns], "type": [str(t) for t in df.dtypes]}
    )
    return Tab(name).table(schema)


def preview_tab(df: pd.DataFrame, name: str = "Data Preview", rows: int = 10) -> Tab:
    return Tab(name).rows(df.head(rows))


def dataset_tabs(
    card: Any, head: pd.DataFrame, rows: int, cfg: Any, profile_name: str = "Data Profile"
) -> None:
    """The tabs of a card about an ingested dataset (ingest and ingest_scoring)."""
    if not cfg.skip_data_profiling:
        card.tabs.append(data_profile_tab(head, name=profile_name))
    card.tabs.append(schema_tab(head))
    card.tabs.append(preview_tab(head))
    card.tab("Run Summary").kv(
        {
            "Number of rows ingested": rows,
            "Number of columns": len(head.columns),
            "Dataset source location": cfg.location,
            "Format": cfg.using,
        }
    )
