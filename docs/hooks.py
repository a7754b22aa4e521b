"""MkDocs hook: pages generated from the code they document, so they cannot drift from it.

``<!-- generated: recipe-schema -->`` becomes the reference of every ``recipe.yaml`` key, walked
from the pydantic models that validate a recipe (the steps' blocks from their declarations).
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

MARKER = "<!-- generated: recipe-schema -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, recipe_schema_markdown())
    return markdown


def recipe_schema_markdown() -> str:
    from mlrecipes.execution.context import recipe_schema

    sections: list[str] = []
    _model(recipe_schema(), "", sections, seen={})
    return "\n".join(sections)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's type holds (directly, optional, in a list or a dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        bounds = [m for m in args[1:] if type(m).__name__ in ("Gt", "Ge", "Lt", "Le")]
        said = {"Gt": ">", "Ge": ">=", "Lt": "<", "Le": "<="}
        limits = " ".join(
            f"{said[type(m).__name__]} {getattr(m, type(m).__name__.lower())}" for m in bounds
        )
        return f"{_type_name(args[0])} {limits}".strip()
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()
    if isinstance(value, BaseModel):
        return "its defaults (below)"
    return "`null`" if value is None else f"`{value!r}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _model(model: type[BaseModel], path: str, out: list[str], seen: dict[str, str]) -> None:
    title = f"`{path}`" if path else "Top level"
    if model.__name__ in seen:  # one block type in several places: described once
        out += [f"## {title}", "", f"The same keys as {seen[model.__name__]}.", ""]
        return
    seen[model.__name__] = title
    doc = (model.__doc__ or "").strip().split("\n\n")[0] if model.__doc__ else ""
    out += [f"## {title}", ""]
    if doc and not doc.startswith(("Usage docs", "A base class")):
        out += [_cell(doc), ""]
    described = any(f.description for f in model.model_fields.values())
    out += (
        ["| key | type | default | meaning |", "|---|---|---|---|"]
        if described
        else ["| key | type | default |", "|---|---|---|"]
    )
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        shown = field.alias or name
        row = f"| `{shown}` | {_cell(_type_name(field.annotation))} | {_default(field)} |"
        out.append(row + (f" {_cell(field.description or '')} |" if described else ""))
        for sub in _models_in(field.annotation):
            nested.append((f"{path}.{shown}" if path else shown, sub))
    out.append("")
    for sub_path, sub in nested:
        _model(sub, sub_path, out, seen)
