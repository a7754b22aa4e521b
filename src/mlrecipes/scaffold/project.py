"""A project's declaration (the variables the template files take) and its rendering.

The files live in this package (``template/``, package data), so `mlrecipes init` works from an
installed wheel. The repository's churn template is the same files rendered with churn's
declaration (``template.yaml`` at the repository root, `python -m mlrecipes.scaffold`); a test keeps
them identical, so there is one source.

The template delimiters are ``<{ }>`` and ``<% %>``: the files themselves hold the ``{{ }}`` that a
profile fills at run time, which must pass through untouched.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlrecipes._version import __version__
from mlrecipes.errors import ConfigError

TEMPLATE = Path(__file__).parent / "template"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# rendered for every project; the repository's template renders only the first group (its steps/
# are churn's own hand-written featurization)
SHARED_FILES = (
    "recipe.yaml",
    "profiles/local.yaml",
    "profiles/local_features.yaml",
    "profiles/dev.yaml",
    "profiles/staging.yaml",
    "profiles/prod.yaml",
    "access.yaml",
    "databricks.yml",
    "resources/feature_table_creation.yml",
    "resources/model_train.yml",
    "resources/model_inference_batch.yml",
    "resources/monitoring.yml",
    "resources/retraining_trigger.yml",
)
PROJECT_FILES = (
    "steps/transform.py",
    "steps/train.py",
    "steps/features.py",
    "README.md",
    ".gitignore",
)
CLASSIFICATION_FILES = ("steps/custom_metrics.py",)
# copied as they are (they read target, positive class, model and ids from the recipe): the
# repository's notebooks/ are these files. Scoring and champion/challenger plot P(positive) and
# ROC curves: binary classifiers only; training and inspecting fits every recipe.
NOTEBOOKS = (
    "notebooks/train_and_inspect.ipynb",
    "notebooks/batch_scoring.ipynb",
    "notebooks/champion_challenger.ipynb",
)
ANY_TASK_NOTEBOOKS = ("notebooks/train_and_inspect.ipynb",)


@dataclass
class Declaration:
    """Everything a project's files are rendered from; `init` fills it from the table."""

    name: str
    title: str
    target: str
    task: str
    positive_class: Any
    id_columns: list[str]
    numeric_columns: list[str]
    text_numbers: list[str]
    not_features: list[str]
    criteria: list[dict[str, Any]]
    criteria_note: str = ""
    time_column: str | None = None
    data_location: str = "data/table.csv"
    snapshots_location: str | None = None
    data_format: str = "csv"
    positive_share: str = ""
    in_repository: bool = False
    table_description: str = ""
    roles: list[list[str]] = field(default_factory=list)
    rows: int = 0
    split_ratios: list[float] = field(default_factory=lambda: [0.75, 0.125, 0.125])

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ConfigError(
                f"project name {self.name!r}: expected lowercase letters, digits and _ "
                "(starting with a letter); it names experiments, models and tables"
            )

    def to_yaml(self) -> str:
        import yaml

        head = (
            "# What `mlrecipes init` read from the table and chose: the variables of the project's\n"
            "# files. `python -m mlrecipes.scaffold DIR` renders them again (after an upgrade).\n"
        )
        return head + yaml.safe_dump(asdict(self), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, path: Path) -> Declaration:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, yaml.YAMLError, TypeError) as exc:
            raise ConfigError(f"{path}: not a project declaration ({exc})") from exc

    def variables(self) -> dict[str, Any]:
        classification = self.task == "classification"
        ids = ", ".join(f"`{c}`" for c in self.id_columns)
        timestamp = self.time_column or "snapshot_date"
        return {
            **asdict(self),
            "version": __version__,
            "classification": classification,
            "recipe": "classification/v1" if classification else "regression/v1",
            "task_words": "binary classification" if classification else "regression",
            "primary_metric": "roc_auc" if classification else "root_mean_squared_error",
            "estimator_words": "a balanced logistic regression"
            if classification
            else "a ridge regression",
            "prefix": self.name.upper(),
            "ids_json": json.dumps(self.id_columns),
            "split_ratios_json": json.dumps(self.split_ratios),
            "ids_text": ", ".join(self.id_columns),
            "numeric_json": json.dumps(self.numeric_columns),
            "not_features_json": json.dumps(self.not_features),
            "text_numbers_py": "{" + ", ".join(f'"{c}": None' for c in self.text_numbers) + "}",
            "text_numbers_list": json.dumps(self.text_numbers),
            "timestamp_key": timestamp,
            "label_columns": " + ".join([*self.id_columns, self.target]),
            "key_note": f"{', '.join(self.id_columns)}; {timestamp} optional",
            "snapshots_location": self.snapshots_location or self.data_location,
            "local_data_note": "the generated sample (make data)"
            if self.in_repository
            else f"its table ({self.data_location})",
            "snapshots_note": "`make data` writes data/telco_snapshots/ (3 monthly snapshots of "
            "the generated sample)"
            if self.in_repository
            else f"{self.snapshots_location or self.data_location}, one snapshot per "
            + (f"'{self.time_column}'" if self.time_column else "run of the features step"),
            "wheel_source": "the project's wheel" if self.in_repository else "the mlrecipes wheel",
            "wheel_dependency": "../dist/*.whl"
            if self.in_repository
            else f"mlrecipes=={__version__}",
            "data_name": Path(self.data_location).name,
            "ids_md": ids,
        }


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE),
        variable_start_string="<{",
        variable_end_string="}>",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML and Python, not HTML
    )


def _template_name(relative: str) -> str:
    return "gitignore.j2" if relative == ".gitignore" else f"{relative}.j2"


def copied(files: tuple[str, ...] = NOTEBOOKS) -> dict[str, str]:
    """Relative path -> text of the files a project gets as they are."""
    return {path: (TEMPLATE / path).read_text(encoding="utf-8") for path in files}


def render(declaration: Declaration, files: tuple[str, ...] | None = None) -> dict[str, str]:
    """Relative path -> text of each file of the project (``files``: only those rendered)."""
    whole = files is None
    if files is None:
        files = SHARED_FILES + PROJECT_FILES
        if declaration.task == "classification":
            files += CLASSIFICATION_FILES
    env, variables = _environment(), declaration.variables()
    rendered = {path: env.get_template(_template_name(path)).render(variables) for path in files}
    if whole:
        rendered |= copied(
            NOTEBOOKS if declaration.task == "classification" else ANY_TASK_NOTEBOOKS
        )
    return rendered
