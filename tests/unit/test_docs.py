"""The README stays a front page (#29: it was a 1,300-line manual) and every link in it and in
the documentation pages points at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _local_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # links in code are not links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_the_readme_is_a_front_page() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    top = readme.split("\n## ")[0]
    assert "make run" in top and "make test" in top  # the two commands come first


def test_every_local_link_of_the_readme_and_the_docs_resolves() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    broken = [
        f"{page.relative_to(REPO)}: {target}"
        for page in pages
        for target in _local_links(page)
        if not (page.parent / target).exists()
    ]
    assert broken == []
    linked = {(REPO / t).resolve() for t in _local_links(REPO / "README.md")}
    every_page = {p.resolve() for p in (REPO / "docs").rglob("*.md")} - {REPO / "docs" / "index.md"}
    assert every_page <= linked  # the README reaches every page of the site


def test_the_recipe_reference_is_generated_from_the_models_every_key_included() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (REPO / "docs" / "reference" / "recipe-yaml.md").read_text()
    assert hooks.MARKER in page
    markdown = hooks.on_page_markdown(page, None, None, None)
    assert hooks.MARKER not in markdown
    for expected in (
        "## `steps.deploy`",
        "| `confidence` | float | `0.95` |",
        "| `approval` | 'auto' \\| 'manual' | `'auto'` |",
        "## `steps.train.tuning`",
        "| `max_trials` | int > 0 \\| null | `null` |",
        "## `steps.ingest`",
        "| `numeric_columns` |",
        "## `cards`",
    ):
        assert expected in markdown, expected


def test_the_changelog_keeps_the_keep_a_changelog_form() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n") and "Keep a Changelog" in text
    sections = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert sections and sections[0] == "Unreleased"
    kinds = set(re.findall(r"^### (\w+)", text, flags=re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def _table_rows(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table whose header line starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_readmes_estimate_figures_are_the_benchmarks() -> None:
    """The README quotes `benchmarks/monitoring_quality.py`'s last recorded run: every dataset
    and metric of it, at four decimals, with its ratio."""
    results = (REPO / "benchmarks" / "results.md").read_text()
    section = results.split("<!-- monitoring-quality -->")[1].split("<!-- /monitoring-quality -->")[
        0
    ]
    recorded = {
        (row[0], row[1]): [f"{float(row[i]):.4f}" for i in (3, 4, 5)]
        for row in _table_rows(section, "| dataset | metric | chunks")
    }
    names = {
        "synthetic car loan": "synthetic_car_loan",
        "synthetic work from home": "synthetic_work_from_home",
        "US census employment, MA": "us_census_ma_employment",
    }
    quoted = {}
    for row in _table_rows((REPO / "README.md").read_text(), "| dataset | metric | ours |"):
        dataset = names[row[0].rsplit(" (", 1)[0]]
        metric = {"ROC AUC": "roc_auc", "F1": "f1"}[row[1]]
        quoted[(dataset, metric)] = row[2:5]
    assert quoted == recorded


def test_the_benchmarks_page_quotes_the_last_comparison_with_mlflow_recipes() -> None:
    """docs/explanations/benchmarks.md's table against MLflow Recipes is
    `benchmarks/compare_recipes.py`'s last recorded run: each measure, both times, the ratio
    and the verdict."""
    results = (REPO / "benchmarks" / "results.md").read_text()
    section = results.split("<!-- compare -->")[1].split("<!-- /compare -->")[0]
    recorded = {
        row[0].rsplit(" (", 1)[0]: [row[1], row[2], row[3], row[5]]
        for row in _table_rows(section, "| measure | mlrecipes |")
        if row[3]  # the rows with a ratio
    }
    page = (REPO / "docs" / "explanations" / "benchmarks.md").read_text()
    quoted = {
        row[0]: [row[1].split()[0], row[2].split()[0], row[3], (row[4].split() or [""])[-1]]
        for row in _table_rows(page, "| measure | mlrecipes | MLflow Recipes 2.x |")
    }
    assert quoted.keys() == recorded.keys()
    for measure, (ours, theirs, ratio, verdict) in recorded.items():
        q_ours, q_theirs, q_ratio, q_verdict = quoted[measure]
        assert float(q_ours) == pytest.approx(float(ours), abs=0.005), measure
        assert float(q_theirs) == pytest.approx(float(theirs), abs=0.05), measure
        assert q_ratio == ratio, measure
        assert q_verdict == (f"({verdict})" if verdict else ""), measure
