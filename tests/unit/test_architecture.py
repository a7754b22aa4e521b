"""The code's floors hold: no import cycle between modules of src/mlrecipes, counting imports
inside functions and under TYPE_CHECKING too (import-linter's contracts in pyproject.toml check
the floors themselves; `make lint` runs them)."""

from __future__ import annotations

import ast
import graphlib
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def module_names(src: Path, package: str) -> dict[str, Path]:
    names = {}
    for path in (src / package).rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ``known`` that ``name`` imports anywhere in its body (``from a import b``
    counts ``a.b`` when b is a module, else ``a``)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycle(src: Path, package: str) -> list[str] | None:
    known = module_names(src, package)
    graph = {name: imported_modules(name, path, known) for name, path in known.items()}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_module_of_mlrecipes_is_in_an_import_cycle() -> None:
    assert import_cycle(SRC, "mlrecipes") is None


def test_the_cycle_check_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from .. import a
            """
        )
    )
    cycle = import_cycle(tmp_path, "pkg")
    assert cycle is not None and set(cycle) == {"pkg.a", "pkg.sub.b"}
    (package / "sub" / "b.py").write_text("def f():\n    from pkg import c\n")
    (package / "c.py").write_text("")
    assert import_cycle(tmp_path, "pkg") is None
    (package / "c.py").write_text("def g():\n    import pkg.a\n")
    assert set(import_cycle(tmp_path, "pkg") or ()) == {"pkg.a", "pkg.sub.b", "pkg.c"}


@pytest.mark.parametrize("home", ["deployment", "monitoring", "modeling", "access"])
def test_the_pure_homes_import_no_mlflow_and_write_no_files(home: str) -> None:
    """Decisions and statistics: pure functions, testable without MLflow or files."""
    known = module_names(SRC, "mlrecipes")
    for name, path in known.items():
        if not name.startswith(f"mlrecipes.{home}"):
            continue
        tree = ast.parse(path.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and not node.level
        }
        assert "mlflow" not in imported, name
        assert not imported & {"shutil", "deltalake"}, name


MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def sizes(root: Path) -> tuple[list[str], list[str]]:
    """(functions over the limit, modules over the limit), each as 'path:name lines'."""
    functions, modules = [], []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            modules.append(f"{path.relative_to(root)} {len(text.splitlines())}")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > MAX_FUNCTION_LINES:
                    functions.append(f"{path.relative_to(root)}:{node.name} {lines}")
    return functions, modules


def test_no_function_over_60_lines_and_no_module_over_400() -> None:
    functions, modules = sizes(SRC / "mlrecipes")
    assert functions == [], "split these functions"
    assert modules == [], "split these modules"


def test_the_size_check_measures_whole_functions_and_modules(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "big.py").write_text(f"def long():\n{body}\n\n\ndef short():\n    return 1\n")
    (tmp_path / "huge.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    functions, modules = sizes(tmp_path)
    assert functions == [f"big.py:long {MAX_FUNCTION_LINES + 1}"]
    assert modules == [f"huge.py {MAX_MODULE_LINES + 1}"]


ROOT = SRC.parent


def test_the_architecture_page_draws_the_floors_that_import_linter_checks() -> None:
    """The architecture page's floor diagram lists pyproject's layers, top to bottom, homes per
    floor (docs/explanations/architecture.md)."""
    import re
    import tomllib

    layers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in layers["contracts"] if c["type"] == "layers"]
    expected = [
        sorted(name.strip().removeprefix("mlrecipes.") for name in layer.split("|"))
        for layer in contract["layers"]
    ]
    readme = (ROOT / "docs" / "explanations" / "architecture.md").read_text()
    block = readme.split("<!-- floors:", 1)[1].split("<!-- /floors -->", 1)[0]
    diagram = block.split("```mermaid\n", 1)[1].split("```", 1)[0]
    drawn: list[list[str]] = []
    for line in diagram.splitlines()[1:]:  # after "flowchart TD"
        for floor in re.split(r"\s*-->\s*", line.strip()):
            homes = sorted(h.strip() for h in floor.split("&") if h.strip())
            if homes and homes not in drawn:
                drawn.append(homes)
    assert drawn == expected


def test_every_cli_command_defined_is_reachable_from_the_mlrecipes_command() -> None:
    """A command written in a module of cli/ but never added would be dead code the README's
    'Adding a CLI command' says cannot happen."""
    import importlib
    import pkgutil

    import click

    import mlrecipes.cli as cli_package
    from mlrecipes.cli import app

    reachable: set[int] = set()

    def walk(command: click.Command) -> None:
        reachable.add(id(command))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(app)
    defined = []
    for info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"mlrecipes.cli.{info.name}")
        defined += [
            (info.name, name)
            for name, value in vars(module).items()
            if isinstance(value, click.Command) and value.callback is not None
            and value.callback.__module__ == module.__name__ and id(value) not in reachable
        ]  # fmt: skip
    assert defined == []
