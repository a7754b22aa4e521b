"""Step cards: data model and self-contained HTML rendering."""

from mlrecipes.cards.model import Card, Tab
from mlrecipes.cards.render import render_html, write_card

__all__ = ["Card", "Tab", "render_html", "write_card"]
