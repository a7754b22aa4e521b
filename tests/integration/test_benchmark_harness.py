"""benchmarks/compare_recipes.py: its verdicts, and our side of the comparison run for real.

The timings themselves are measured by `make bench`, never asserted here; these tests keep the
harness honest (every ratio reported, each target judged) and the benchmark recipe runnable.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compare():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "compare_recipes", ROOT / "benchmarks" / "compare_recipes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


THEIRS = {"cold": 40.0, "cached": 2.0, "edit_train": 30.0, "inspect_train": 2.0, "peak_rss": 500.0}
OURS = {"cold": 3.6, "cached": 0.03, "edit_train": 3.3, "inspect_train": 0.2, "peak_rss": 450.0,
        "card_seconds": 0.8}  # fmt: skip


def verdicts(rows: list[dict]) -> dict[str, str]:
    return {row["measure"]: row[""] for row in rows}


def test_summary_reports_every_ratio_and_passes_when_targets_hold(compare) -> None:
    rows, ok = compare.summary(OURS, THEIRS, bare_median=1.25)
    assert ok
    by_measure = {row["measure"]: row for row in rows}
    for key, label in compare.LABELS.items():
        # shown at three decimals: 0.0205 must not read as a passing 0.02
        shown = by_measure[label]["ours/theirs"]
        assert shown == f"{OURS[key] / THEIRS[key]:.3f}"
    assert by_measure["mlrecipes cold run / bare script"]["mlrecipes"] == pytest.approx(2.88)
    assert set(verdicts(rows).values()) == {"PASS", ""}


@pytest.mark.parametrize(
    ("changed", "failing"),
    [
        ({"cold": 4.1}, "cold full run after clean (s)"),  # 0.1025 > 0.10
        ({"edit_train": 3.7}, "re-run after editing steps/train.py (s)"),  # 0.123 > 0.12
        ({"cached": 0.041}, "fully cached re-run (s)"),  # 0.0205 > 0.02
        ({"peak_rss": 501.0}, "peak RSS of the cold run (MB)"),
        ({"card_seconds": 1.0}, "mlrecipes: time spent on cards in a cold run (s)"),
    ],
)
def test_summary_fails_each_missed_target(compare, changed: dict, failing: str) -> None:
    rows, ok = compare.summary({**OURS, **changed}, THEIRS, bare_median=1.25)
    assert not ok and verdicts(rows)[failing] == "FAIL"


def test_summary_fails_a_cold_run_over_five_times_the_bare_script(compare) -> None:
    rows, ok = compare.summary(OURS, THEIRS, bare_median=0.7)  # 3.6 / 0.7 = 5.14
    assert not ok and verdicts(rows)["mlrecipes cold run / bare script"] == "FAIL"


@pytest.mark.slow
def test_our_side_of_the_benchmark_runs_the_benchmark_recipe(compare, tmp_path: Path) -> None:
    """The harness's own Engine on benchmarks/recipes_churn: cold, cached, edit train.py."""
    from mlrecipes.sample_data.telco import write_sample

    data = write_sample(tmp_path / "sample.csv", rows=1500, seed=3)
    _, ours = compare.engines(tmp_path / "work", data, tmp_path / "no-recipes2-venv")
    ours.run("run")  # raises (naming the command) on a non-zero exit
    cached = ours.run("run")
    assert cached["rss_mb"] > 0
    events = (ours.root / ".mlrecipes/local/events.jsonl").read_text().splitlines()
    assert all('"cached"' in line for line in events[-6:])
    compare.edit_train(ours.root, 0)
    ours.run("run")
    tail = "\n".join((ours.root / ".mlrecipes/local/events.jsonl").read_text().splitlines()[-6:])
    assert tail.count('"event": "run"') == 3 and '"step": "train", "event": "run"' in tail
    assert compare.card_seconds(ours) > 0
    bare = compare.measure(
        [sys.executable, str(ROOT / "benchmarks" / "bare_sklearn.py"), str(data), str(ours.root)],
        tmp_path,
        {},
    )
    assert bare["rc"] == 0
