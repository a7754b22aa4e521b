"""`mlrecipes init DIR --data FILE --target COL`: a complete project for one table.

Reads the table, detects each column's role (scaffold.table), measures a baseline for the
validation criteria (scaffold.baseline), renders the package's template (scaffold.project), and
writes it all at once: the files are built in a sibling folder and moved into place only when
every one of them exists, so a refusal or a crash leaves no half-written project.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlrecipes.errors import ConfigError, DatasetError
from mlrecipes.scaffold.__main__ import DECLARATION
from mlrecipes.scaffold.baseline import MIN_ROWS, Baseline, measure_baseline, split_ratios
from mlrecipes.scaffold.project import Declaration, render
from mlrecipes.scaffold.table import TableSpec, Task, describe_table

PROJECT_MARKERS = ("recipe.yaml", "pipeline.yaml", DECLARATION)
READERS = {".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class InitPlan:
    """What init would write, before it writes: the dry run prints this."""

    root: Path
    data: Path
    spec: TableSpec
    baseline: Baseline | None
    declaration: Declaration
    files: dict[str, str]
    columns: list[str]


def read_table(path: Path) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DatasetError(f"{path}: expected a .csv or .parquet file, not '{path.suffix}'")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        return pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas/pyarrow parse errors
        raise DatasetError(f"{path}: cannot be read as {kind} ({exc})") from exc


def project_name(root: Path, given: str | None) -> str:
    if given:
        return given
    slug = re.sub(r"[^a-z0-9]+", "_", root.resolve().name.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"project_{slug}".rstrip("_")
    return slug


def _check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: exists and is not a folder")
    held = [m for m in PROJECT_MARKERS if (root / m).exists()]
    if held:
        raise ConfigError(f"{root}: already holds a project ({held[0]}); init writes a new one")


def plan_project(
    root: Path,
    data: Path,
    target: str,
    *,
    positive_class: str | None = None,
    id_columns: list[str] | None = None,
    time_column: str | None = None,
    task: Task | None = None,
    name: str | None = None,
    drop: list[str] | None = None,
    baseline: bool = True,
) -> InitPlan:
    """Everything init decides, nothing written."""
    _check_root(root)
    frame = read_table(data)
    spec = describe_table(
        frame,
        target,
        id_columns=id_columns,
        time_column=time_column,
        task=task,
        positive_class=positive_class,
        drop=drop,
        source=str(data),
    )
    if spec.rows < MIN_ROWS:
        raise DatasetError(
            f"{data}: {spec.rows} rows; a recipe trains, validates and tests on separate rows, "
            f"and needs {MIN_ROWS} at least"
        )
    ratios = split_ratios(spec.rows)
    measured = measure_baseline(frame, spec, ratios[2]) if baseline else None
    columns = list(map(str, frame.columns))
    declaration = _declaration(spec, measured, columns, data, project_name(root, name))
    declaration.split_ratios = ratios
    files = render(declaration)
    files[DECLARATION] = declaration.to_yaml()
    return InitPlan(root, data, spec, measured, declaration, files, columns)


def _declaration(
    spec: TableSpec, measured: Baseline | None, columns: list[str], data: Path, project: str
) -> Declaration:
    criteria = (
        [{"metric": c.metric, "threshold": c.threshold} for c in measured.criteria]
        if measured
        else _majority_criteria(spec)
    )
    snapshot = f"'{spec.time_column}'" if spec.time_column else "run of the features step"
    return Declaration(
        name=project,
        title=project.replace("_", " "),
        target=spec.target,
        task=spec.task,
        positive_class=spec.positive_class,
        id_columns=spec.id_columns,
        numeric_columns=[c for c in columns if c in spec.numeric_columns],
        text_numbers=spec.text_numbers,
        not_features=[
            *spec.id_columns,
            *([spec.time_column] if spec.time_column else []),
            *spec.dropped,
        ],
        criteria=criteria,
        criteria_note=measured.note()
        if measured
        else "no baseline measured (--no-baseline): the majority class's scores",
        time_column=spec.time_column,
        data_location=f"data/{data.name}",
        data_format=READERS[data.suffix.lower()],
        positive_share=f"{spec.positive_share:.1%}" if spec.positive_share is not None else "",
        table_description=f"Features of {data.name}, one snapshot per {snapshot}",
        roles=[list(r) for r in spec.roles(columns)],
        rows=spec.rows,
    )


def _majority_criteria(spec: TableSpec) -> list[dict[str, float | str]]:
    if spec.task == "classification":
        return [{"metric": "roc_auc", "threshold": 0.5}]
    return [{"metric": "r2_score", "threshold": 0.0}]


def write_project(plan: InitPlan) -> list[Path]:
    """Writes the plan's files and a copy of the table; all of them or none."""
    root = plan.root
    _check_root(root)
    parent = root.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.init-", dir=parent))
    try:
        for relative, text in plan.files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (staging / "data").mkdir(exist_ok=True)
        shutil.copy2(plan.data, staging / plan.declaration.data_location)
        if not root.exists() or not any(root.iterdir()):
            if root.exists():
                root.rmdir()
            os.rename(staging, root)  # one step: the project appears whole
        else:
            _merge_into(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(root / p for p in [*plan.files, plan.declaration.data_location])


def _merge_into(staging: Path, root: Path) -> None:
    """Into a folder that already holds other files (a fresh git clone, a README): refuses any
    clash before moving, and takes back what it moved if a move fails."""
    entries = [p for p in staging.rglob("*") if p.is_file()]
    clashes = [
        str(p.relative_to(staging)) for p in entries if (root / p.relative_to(staging)).exists()
    ]
    if clashes:
        raise ConfigError(
            f"{root}: already holds {', '.join(sorted(clashes)[:5])}; init would overwrite it"
        )
    moved: list[Path] = []
    try:
        for source in entries:
            target = root / source.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moved.append(target)
    except OSError:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
