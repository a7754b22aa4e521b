"""Render a Card to one self-contained HTML file: inline CSS, inline PNGs, CSS-only tabs, no JS."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from mlrecipes.cards.model import Card

_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(card: Card) -> str:
    return _environment().get_template("card.html.j2").render(card=card)


def write_card(card: Card, directory: Path) -> Path:
    """Write card.json and card.html into ``directory``; return the HTML path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "card.json").write_text(card.to_json(), encoding="utf-8")
    html_path = directory / "card.html"
    html_path.write_text(render_html(card), encoding="utf-8")
    return html_path
