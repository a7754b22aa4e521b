"""Markdown tables for benchmark output (no extra dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def markdown_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], floatfmt: str = ".4f"
) -> str:
    def cell(value: Any) -> str:
        return format(value, floatfmt) if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
