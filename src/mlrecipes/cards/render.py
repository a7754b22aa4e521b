"""Render a Card to one self-contained HTML file: inline CSS, inline PNGs, CSS-only tabs, no JS."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2

from mlrecipes.cards.model import Card
from mlrecipes.config.redaction import redact

_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["scoped"] = scope_ids
    return env


def render_template(name: str, **context: object) -> str:
    """A page from one of the cards' templates (autoescaped: the values are data, not HTML)."""
    return _environment().get_template(name).render(**context)


_ID = re.compile(r"""\b(?:id|name)=["']([^"']+)["']""")


def scope_ids(html: str, uid: str) -> str:
    """Prefix the ids (and radio names) inside an HTML block with the card's uid, wherever it uses
    them: quoted (``id``, ``name``, ``for``, its script) and ``#id`` in its own CSS. scikit-learn's estimator diagram
    numbers its ids per process, so two cards' diagrams on one page collided."""
    for ident in sorted(set(_ID.findall(html)), key=len, reverse=True):
        quoted = re.escape(ident)
        # every quoted use: id=, name=, for=, and the diagram's script (getElementById('...'))
        html = re.sub(rf"""(["']){quoted}\1""", rf"\1{uid}-{ident}\1", html)
        html = re.sub(rf"#{quoted}(?![\w-])", f"#{uid}-{ident}", html)
    return html


def render_html(card: Card) -> str:
    """The card as a standalone HTML document (card.html)."""
    page = _environment().get_template("card.html.j2").render(card=card.shareable(), uid=_uid())
    return redact(page)


def render_fragment(card: Card) -> str:
    """The card as an HTML fragment for a page holding other cards (a notebook cell): a fresh
    prefix scopes its ids, radio names and CSS, so showing it twice is fine too."""
    template = _environment().get_template("card_fragment.html.j2")
    return redact(template.render(card=card.shareable(), uid=_uid()))


def _uid() -> str:
    import uuid

    return f"mlr-{uuid.uuid4().hex[:10]}"


def load_card(path: Path) -> Card:
    """A card back from its card.json."""
    import json

    from mlrecipes.cards.model import Block, Tab

    data = json.loads(path.read_text(encoding="utf-8"))
    tabs = [
        Tab(t["name"], [Block(**{**b, "items": b.get("items")}) for b in t["blocks"]])
        for t in data.pop("tabs")
    ]
    return Card(**data, tabs=tabs)


def write_card(card: Card, directory: Path) -> Path:
    """Write card.json and card.html into ``directory``; return the HTML path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "card.json").write_text(card.to_json(), encoding="utf-8")
    html_path = directory / "card.html"
    html_path.write_text(render_html(card), encoding="utf-8")
    return html_path
