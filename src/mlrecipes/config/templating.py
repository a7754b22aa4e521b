"""Render recipe.yaml and profiles with Jinja2 and parse them as YAML, keeping line numbers.

Deliberate differences from MLflow Recipes (see the reference spec, §2):
- ``#`` is not a Jinja line comment, so ``"a#b"`` inside a quoted string survives;
- ``None`` renders as ``null`` and dicts/lists render as JSON flow YAML, not Python reprs;
- templates can read environment variables with ``env("NAME", default)``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml
from jinja2.sandbox import SandboxedEnvironment

from mlrecipes.errors import ConfigError

_NO_DEFAULT = object()


def _finalize(value: Any) -> Any:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return value


@dataclass
class TemplateInputs:
    """What rendering read besides the variables: template files (absolute paths) and environment
    variable names. The up-to-date check (execution/fastpath.py) watches exactly these."""

    files: set[str] = field(default_factory=set)
    env_names: set[str] = field(default_factory=set)


def _env_function(inputs: TemplateInputs) -> Any:
    def env(name: str, default: Any = _NO_DEFAULT) -> Any:
        inputs.env_names.add(name)
        if name in os.environ:
            return os.environ[name]
        if default is _NO_DEFAULT:
            raise ConfigError(
                f'env("{name}"): environment variable {name} is not set and no default given'
            )
        return default

    return env


def _from_json_filter(inputs: TemplateInputs, root: Path) -> Any:
    """``{{ "params.json" | from_json }}``: a JSON file inside the recipe root, nothing else (a
    profile must not be able to read, or quote in an error, any file the user can read)."""

    def from_json(path: str) -> Any:
        base = root.resolve()
        target = (base / str(path)).resolve()
        if not target.is_relative_to(base):
            raise ConfigError(
                f"from_json: '{path}' is outside the recipe root {base}; only files inside it "
                "may be read"
            )
        inputs.files.add(str(target))
        try:
            with open(target, encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"from_json: file '{path}' not found under {base}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"from_json: '{path}' is not a JSON file (line {getattr(exc, 'lineno', '?')})"
            ) from None

    return from_json


# Rendering limits: a profile is code, and must not be able to hang or exhaust the machine.
MAX_RENDERED_CHARS = 10_000_000
RENDER_TIMEOUT_ENV = "MLRECIPES_TEMPLATE_TIMEOUT"
DEFAULT_RENDER_TIMEOUT_S = 10.0


class _LimitedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox with a bound on the size of ``*`` and ``**`` results (``'a' * 10**9``);
    loops are bounded by the render time limit in :func:`render`."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and abs(left) > 1 and right > 64:
            raise ConfigError(f"template computes {left} ** {right}: too large")
        if operator == "*":
            size = _repeat_size(left, right)
            if size is not None and size > MAX_RENDERED_CHARS:
                raise ConfigError(
                    f"template builds a value of {size:,} items (limit {MAX_RENDERED_CHARS:,})"
                )
        return super().call_binop(context, operator, left, right)


def _repeat_size(left: Any, right: Any) -> int | None:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(count, int):
            return len(seq) * count
    return None


class _CommentBlankingLoader(jinja2.FileSystemLoader):
    """Whole-line YAML comments are blanked before Jinja sees them (line numbers are kept), so a
    comment may mention ``{{ VAR }}``; a ``#`` after a value is left to YAML, quotes respected."""

    def __init__(self, root: Path, inputs: TemplateInputs):
        super().__init__(str(root))
        self.root = root.resolve()
        self.inputs = inputs

    def get_source(self, environment, template):
        # FileSystemLoader opens whatever the joined path points at, symlinks included: resolve
        # first and refuse anything outside the root before a byte is read (as from_json does)
        pieces = jinja2.loaders.split_template_path(template)
        target = self.root.joinpath(*pieces).resolve()
        if not target.is_relative_to(self.root):
            raise ConfigError(
                f"template '{template}' is outside the recipe root {self.root} (it resolves to "
                f"{target}); templates may include only files inside the root"
            )
        source, filename, uptodate = super().get_source(environment, template)
        self.inputs.files.add(str(Path(filename).resolve()))
        lines = ["" if line.lstrip().startswith("#") else line for line in source.split("\n")]
        return "\n".join(lines), filename, uptodate


def make_environment(root: Path, inputs: TemplateInputs | None = None) -> SandboxedEnvironment:
    inputs = inputs if inputs is not None else TemplateInputs()
    env = _LimitedEnvironment(
        loader=_CommentBlankingLoader(root, inputs),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals["env"] = _env_function(inputs)
    env.filters["from_json"] = _from_json_filter(inputs, root)
    return env


def _template_line(exc: BaseException, filename: str) -> int | None:
    """Jinja rewrites tracebacks so that template frames carry the template's file and line."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(env: SandboxedEnvironment, root: Path, rel_path: str, context: dict[str, Any]) -> str:
    path = root / rel_path
    if not path.is_file():
        raise ConfigError(f"{rel_path}: file not found under {root}")
    timeout = float(os.environ.get(RENDER_TIMEOUT_ENV, DEFAULT_RENDER_TIMEOUT_S))

    def too_slow(seconds: float) -> ConfigError:
        return ConfigError(
            f"rendering took more than {seconds:g} s (a runaway loop?); set "
            f"{RENDER_TIMEOUT_ENV} to allow longer"
        )

    try:
        from mlrecipes.process.signals import time_limit

        template = env.get_template(rel_path)
        with time_limit(timeout, too_slow):
            text = template.render(**context)
        if len(text) > MAX_RENDERED_CHARS:
            raise ConfigError(
                f"rendered to {len(text):,} characters (limit {MAX_RENDERED_CHARS:,})"
            )
        return text
    except MemoryError:
        raise ConfigError(f"{rel_path}: rendering ran out of memory") from None
    except ConfigError as exc:
        raise ConfigError(f"{rel_path}: {exc}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{rel_path}:{exc.lineno}: template syntax error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, str(path))
        where = f"{rel_path}:{line}" if line else rel_path
        raise ConfigError(
            f"{where}: undefined template variable: {exc.message}; define it in the profile or "
            "pass --var NAME=VALUE"
        ) from exc
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{rel_path}: template error: {exc}") from exc


_MARK = re.compile(r"^@@mlrecipes-line-(\d+)@@$")


def source_lines(
    env: SandboxedEnvironment, root: Path, rel_path: str, context: dict[str, Any], rendered: str
) -> list[int] | None:
    """For each line of ``rendered``, the line of the template it came from (1-based).

    ``{% if %}`` blocks drop the lines of the branch not taken, so without this an error after
    one would name the wrong line. A shadow of the template, each text line replaced by its own
    number and each control line (``{% ... %}`` alone) kept, is rendered with the same variables:
    its output lists the source line of every output line. None (identity) when the template
    mixes control tags with text on a line, or spans an expression over lines."""
    source = (root / rel_path).read_text(encoding="utf-8").split("\n")
    shadow = []
    for number, line in enumerate(source, start=1):
        stripped = line.strip()
        control = stripped.startswith("{%") and stripped.endswith("%}")
        if control and stripped.count("{%") == 1:
            shadow.append(stripped)
        elif ("{%" in line) or (line.count("{{") != line.count("}}")):
            return None
        else:
            shadow.append(f"@@mlrecipes-line-{number}@@")
    try:
        text = env.from_string("\n".join(shadow)).render(**context)
    except (jinja2.TemplateError, TypeError, ValueError):
        return None  # the shadow cannot stand in for this file: lines are reported unmapped
    out_lines = text.split("\n")
    if len(out_lines) != len(rendered.split("\n")):
        return None
    mapped, last = [], 0
    for line in out_lines:
        match = _MARK.match(line.strip())
        last = int(match.group(1)) if match else last + 1
        mapped.append(last)
    return mapped


def referenced_variables(env: SandboxedEnvironment, rel_path: str) -> set[str]:
    source = env.loader.get_source(env, rel_path)[0]  # type: ignore[union-attr]
    try:
        return jinja2.meta.find_undeclared_variables(env.parse(source))
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{rel_path}:{exc.lineno}: template syntax error: {exc.message}") from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{key}' (first defined on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _indentation_problem(
    lines: list[str], line: int, column: int, source: Callable[[int], int]
) -> str:
    """PyYAML's "expected <block end>, but found ..." in words. It is raised on the first line
    after a block indented deeper than its siblings (a key with one space too many), so the
    line it names is not the one to fix: name both."""
    start = None
    for i in range(line - 1, -1, -1):
        text = lines[i]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if len(text) - len(text.lstrip(" ")) <= column:
            break
        start = i
    if start is None:
        return f"this line's indentation ({column} spaces) matches no block above it"
    deeper = len(lines[start]) - len(lines[start].lstrip(" "))
    return (
        f"this line is indented {column} spaces, but the block above it, from line "
        f"{source(start + 1)}, is indented {deeper}: lines of one block need the same "
        "indentation (fix whichever is wrong)"
    )


def parse_yaml(
    text: str, rel_path: str, line_map: list[int] | None = None
) -> tuple[dict[str, Any], dict[tuple, int]]:
    """Parse rendered YAML; return the mapping and a map from key path to 1-based line number
    (of the template file, through ``line_map`` when rendering dropped lines)."""

    def source(line: int) -> int:
        return line_map[line - 1] if line_map and 0 < line <= len(line_map) else line

    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{rel_path}:{source(mark.line + 1)}:{mark.column + 1}" if mark else rel_path
        problem = exc.problem or exc.context or str(exc)
        if mark is not None and str(exc.problem).startswith("expected <block end>"):
            problem = _indentation_problem(text.splitlines(), mark.line, mark.column, source)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{rel_path}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{rel_path}: expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    lines: dict[tuple, int] = {}
    _collect_lines(node, (), lines)
    return data, {key: source(line) for key, line in lines.items()}


def _collect_lines(node: yaml.Node | None, path: tuple, lines: dict[tuple, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value)
            lines[key_path] = key_node.start_mark.line + 1
            _collect_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            item_path = (*path, index)
            lines[item_path] = item.start_mark.line + 1
            _collect_lines(item, item_path, lines)
