"""Cards are data first: a list of tabs holding text, key/values, tables, images and raw HTML.

The same object is saved as ``card.json`` (machine-readable) and rendered to ``card.html``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from mlrecipes.config.redaction import redact

BlockKind = Literal["text", "kv", "table", "image", "html", "code"]

MAX_TABLE_ROWS = 200


@dataclass
class Block:
    kind: BlockKind
    title: str | None = None
    text: str | None = None
    items: list[tuple[str, Any]] | None = None
    columns: list[str] | None = None
    rows: list[list[Any]] | None = None
    image_png_b64: str | None = None
    html: str | None = None
    row_level: bool = False  # rows of individual records (a preview), not statistics


@dataclass
class Tab:
    name: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str, title: str | None = None) -> Tab:
        self.blocks.append(Block("text", title=title, text=text))
        return self

    def code(self, text: str, title: str | None = None) -> Tab:
        self.blocks.append(Block("code", title=title, text=text))
        return self

    def kv(self, items: dict[str, Any] | list[tuple[str, Any]], title: str | None = None) -> Tab:
        pairs = list(items.items()) if isinstance(items, dict) else list(items)
        self.blocks.append(Block("kv", title=title, items=[(k, _plain(v)) for k, v in pairs]))
        return self

    def table(self, df: Any, title: str | None = None, max_rows: int = MAX_TABLE_ROWS) -> Tab:
        """Add a pandas DataFrame (first ``max_rows`` rows) as a table."""
        shown = df.head(max_rows)
        rows = [[_plain(v) for v in row] for row in shown.itertuples(index=False, name=None)]
        self.blocks.append(
            Block("table", title=title, columns=[str(c) for c in shown.columns], rows=rows)
        )
        return self

    def rows(self, df: Any, title: str | None = None, max_rows: int = MAX_TABLE_ROWS) -> Tab:
        """Add individual records (a preview, the worst predictions): left out of the cards of
        a profile whose ``cards.row_previews`` is off."""
        self.table(df, title=title, max_rows=max_rows)
        self.blocks[-1].row_level = True
        return self

    def image(self, png: bytes, title: str | None = None) -> Tab:
        encoded = base64.b64encode(png).decode("ascii")
        self.blocks.append(Block("image", title=title, image_png_b64=encoded))
        return self

    def html(self, html: str, title: str | None = None) -> Tab:
        self.blocks.append(Block("html", title=title, html=html))
        return self


@dataclass
class Card:
    step: str
    recipe: str
    profile: str
    status: str = "SUCCEEDED"
    tabs: list[Tab] = field(default_factory=list)
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    row_previews: bool = True

    def shareable(self) -> Card:
        """What may be written or shown: without row-level blocks when row previews are off."""
        if self.row_previews:
            return self
        note = (
            f"row previews are off for profile '{self.profile}' (cards.row_previews: false): "
            "this card shows the schema and statistics only"
        )
        tabs = [
            Tab(t.name, [b if not b.row_level else Block("text", b.title, note) for b in t.blocks])
            for t in self.tabs
        ]
        return replace(self, tabs=tabs)

    def tab(self, name: str) -> Tab:
        for tab in self.tabs:
            if tab.name == name:
                return tab
        new = Tab(name)
        self.tabs.append(new)
        return new

    def to_json(self) -> str:
        return redact(json.dumps(asdict(self.shareable()), default=str, indent=1))


def _plain(value: Any) -> Any:
    """Make numpy/pandas scalars JSON-friendly; round floats for display."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            value = str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return round(value, 6)
    if isinstance(value, int | str | bool) or value is None:
        return value
    return str(value)
