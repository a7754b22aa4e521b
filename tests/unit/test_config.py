"""Rendering, merging and validating recipe.yaml + profiles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlrecipes.config import parse_var_overrides
from mlrecipes.errors import ConfigError
from mlrecipes.execution.context import load_recipe

BASE_RECIPE = """
recipe: "classification/v1"
target_col: "label"
positive_class: "yes"
steps:
  ingest:
    using: csv
    location: "{{ DATA }}"
  train:
    estimator_method: estimator_fn
  register:
    model_name: m
"""


def make_root(tmp_path: Path, recipe: str = BASE_RECIPE, profile: str = 'DATA: "d.csv"\n') -> Path:
    (tmp_path / "profiles").mkdir(exist_ok=True)
    (tmp_path / "recipe.yaml").write_text(textwrap.dedent(recipe))
    (tmp_path / "profiles" / "local.yaml").write_text(textwrap.dedent(profile))
    return tmp_path


def error_of(root: Path, **overrides) -> str:
    """The error of a strict load (``--strict``: keys MLflow Recipes ignored are errors too)."""
    with pytest.raises(ConfigError) as info:
        load_recipe(root, "local", overrides or None, strict=True)
    return str(info.value)


def test_minimal_recipe_gets_recipes_defaults(tmp_path: Path) -> None:
    cfg = load_recipe(make_root(tmp_path), "local").config
    assert cfg.steps.split.split_ratios == [0.75, 0.125, 0.125]
    assert cfg.steps.train.rebalance_training_data is True
    assert cfg.steps.train.predict_prefix == "predicted_"
    assert cfg.steps.register.alias == "challenger"
    assert cfg.task == "classification/binary" and cfg.primary == "f1_score"
    assert cfg.steps.transform.transformer_method is None  # missing means identity


def test_var_override_is_typed_and_wins(tmp_path: Path) -> None:
    root = make_root(
        tmp_path,
        BASE_RECIPE + "  split:\n    split_ratios: [{{ R }}, 0.1, 0.1]\n",
        'DATA: "d.csv"\nR: 0.7\n',
    )
    loaded = load_recipe(root, "local", parse_var_overrides(["R=0.8", "DATA=other.csv"]))
    assert loaded.config.steps.split.split_ratios == [0.8, 0.1, 0.1]
    assert loaded.config.steps.ingest.location == "other.csv"


def test_unknown_var_is_an_error_with_suggestion(tmp_path: Path) -> None:
    message = error_of(make_root(tmp_path), DAT="x")
    assert "--var DAT" in message and "did you mean 'DATA'" in message


def test_env_function_with_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_root(tmp_path, profile="DATA: \"{{ env('MY_DATA', 'fallback.csv') }}\"\n")
    assert load_recipe(root, "local").config.steps.ingest.location == "fallback.csv"
    monkeypatch.setenv("MY_DATA", "from-env.csv")
    assert load_recipe(root, "local").config.steps.ingest.location == "from-env.csv"


def test_env_without_default_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    root = make_root(tmp_path, profile="DATA: \"{{ env('NOT_SET_ANYWHERE') }}\"\n")
    assert "NOT_SET_ANYWHERE is not set" in error_of(root)


def test_hash_in_quoted_string_is_not_a_comment(tmp_path: Path) -> None:
    root = make_root(
        tmp_path, profile='# a comment mentioning {{ DATA }}\nDATA: "data/a#b.csv"  # note\n'
    )
    assert load_recipe(root, "local").config.steps.ingest.location == "data/a#b.csv"


def test_none_renders_as_null_and_dicts_as_mappings(tmp_path: Path) -> None:
    recipe = BASE_RECIPE.replace(
        "  train:\n    estimator_method: estimator_fn\n",
        "  train:\n    estimator_method: estimator_fn\n    estimator_params: {{ P }}\n"
        "    calibrate_proba: {{ CAL }}\n",
    )
    root = make_root(
        tmp_path, recipe, 'DATA: "d.csv"\nP: {alpha: 0.1, "fit_intercept": false}\nCAL: null\n'
    )
    train = load_recipe(root, "local").config.steps.train
    assert train.estimator_params == {"alpha": 0.1, "fit_intercept": False}
    assert train.calibrate_proba is None


def test_undefined_variable_names_line(tmp_path: Path) -> None:
    message = error_of(make_root(tmp_path, profile="OTHER: 1\n"))
    assert "undefined template variable" in message and "'DATA' is undefined" in message
    assert "recipe.yaml:8" in message


def test_malformed_yaml_reports_line_and_column(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE.replace("  train:", "  train: [oops"))
    message = error_of(root)
    assert message.startswith("recipe.yaml:") and "invalid YAML" in message


def test_a_key_indented_one_space_too_far_names_both_lines(tmp_path: Path) -> None:
    """#29: PyYAML's raw "expected <block end>" named the line after the mistake only."""
    recipe = BASE_RECIPE.replace("    using: csv", "     using: csv")  # line 7: 5 spaces
    message = error_of(make_root(tmp_path, recipe))
    assert message == (
        "recipe.yaml:8:5: invalid YAML: this line is indented 4 spaces, but the block above "
        "it, from line 7, is indented 5: lines of one block need the same indentation (fix "
        "whichever is wrong)"
    )


def test_duplicate_key_in_yaml(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE + 'target_col: "other"\n')
    assert "duplicate key 'target_col'" in error_of(root)


def test_unknown_nested_key_suggests(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE.replace("    model_name: m", "    model_nmae: m"))
    message = error_of(root)
    assert "recipe.yaml:" in message and "steps.register.model_nmae: unknown key" in message
    assert "did you mean 'model_name'" in message


def test_wrong_type_names_expectation(tmp_path: Path) -> None:
    root = make_root(
        tmp_path,
        BASE_RECIPE
        + "  evaluate:\n    validation_criteria:\n      - metric: roc_auc\n        threshold: high\n",
    )
    message = error_of(root)
    assert "steps.evaluate.validation_criteria.0.threshold" in message
    assert "expected a valid number" in message and "'high'" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = error_of(make_root(tmp_path, BASE_RECIPE.replace('target_col: "label"\n', "")))
    assert "target_col: required key is missing" in message


def test_profile_may_not_override_recipe_keys(tmp_path: Path) -> None:
    root = make_root(tmp_path, profile='DATA: "d.csv"\ntarget_col: "x"\n')
    message = error_of(root)
    assert (
        "profiles/local.yaml:2" in message and "'target_col' is also set in recipe.yaml" in message
    )


def test_unknown_profile_key_is_not_silently_ignored(tmp_path: Path) -> None:
    root = make_root(tmp_path, profile='DATA: "d.csv"\nexperimnet:\n  name: x\n')
    message = error_of(root)
    assert "unknown key 'experimnet'" in message and "did you mean 'experiment'" in message


def test_profile_blocks_are_merged(tmp_path: Path) -> None:
    root = make_root(
        tmp_path,
        BASE_RECIPE.replace("  register:\n    model_name: m\n", ""),
        'DATA: "d.csv"\nexperiment:\n  name: exp\nmodel_registry:\n  model_name: dev.churn.model\n',
    )
    cfg = load_recipe(root, "local").config
    assert cfg.experiment.name == "exp" and cfg.model_name == "dev.churn.model"


def test_model_name_is_required(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE.replace("  register:\n    model_name: m\n", ""))
    assert "model_name" in error_of(root) and "required" in error_of(root)


def test_metric_names_are_checked_against_the_task(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE + "primary_metric: root_mean_squared_error\n")
    assert (
        "primary_metric 'root_mean_squared_error' is not a metric of classification/binary"
        in error_of(root)
    )
    root = make_root(
        tmp_path,
        BASE_RECIPE
        + "  evaluate:\n    validation_criteria:\n      - {metric: lift, threshold: 2}\n",
    )
    assert "undefined metrics ['lift']" in error_of(root)


def test_positive_class_only_for_classification(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE.replace("classification/v1", "regression/v1"))
    assert "positive_class applies only to recipe: classification/v1" in error_of(root)


def test_unknown_recipe_template(tmp_path: Path) -> None:
    message = error_of(
        make_root(tmp_path, BASE_RECIPE.replace("classification/v1", "timeseries/v1"))
    )
    assert "recipe" in message and "classification/v1" in message


def test_null_blocks_mean_defaults(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE + "  split:\n    # nothing yet\n  evaluate:\n")
    assert load_recipe(root, "local").config.steps.split.using == "split_ratios"


def test_custom_format_needs_loader(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE.replace("using: csv", "using: json"))
    assert "needs loader_method" in error_of(root)


def test_missing_profile_lists_available(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    with pytest.raises(
        ConfigError,
        match="profile 'loca' not found; available profiles: local; did you mean 'local'",
    ):
        load_recipe(root, "loca")


def test_tuning_block_is_validated(tmp_path: Path) -> None:
    tuning = (
        "  train:\n    estimator_method: estimator_fn\n    tuning:\n      enabled: true\n"
        "      max_trials: 3\n      parameters:\n        alpha:\n          distribution: uniform\n"
        "          low: 0.1\n"
    )
    root = make_root(
        tmp_path, BASE_RECIPE.replace("  train:\n    estimator_method: estimator_fn\n", tuning)
    )
    assert "distribution uniform needs high" in error_of(root)


def test_var_parsing() -> None:
    assert parse_var_overrides(["A=1", "B=x y", "C=true", "D="]) == {
        "A": 1,
        "B": "x y",
        "C": True,
        "D": "",
    }
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_var_overrides(["novalue"])


def test_empty_experiment_name_is_an_error(tmp_path: Path) -> None:
    root = make_root(tmp_path, BASE_RECIPE + 'experiment:\n  name: "  "\n')
    message = error_of(root)
    assert "experiment.name" in message and "empty" in message


def test_absent_experiment_name_is_the_folder_name(tmp_path: Path) -> None:
    from mlrecipes.config.tracking import resolve_tracking

    (tmp_path / "my_recipe").mkdir()
    root = make_root(tmp_path / "my_recipe")
    assert resolve_tracking(load_recipe(root, "local")).experiment_name == "my_recipe"


def test_line_numbers_are_the_files_after_an_if_block(tmp_path) -> None:
    """{% if %} drops the lines of the branch not taken; errors still name the file's line."""
    from mlrecipes.errors import ConfigError
    from mlrecipes.execution.context import load_recipe

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "p.yaml").write_text("FLAG: false\n")
    (tmp_path / "recipe.yaml").write_text(
        'recipe: "regression/v1"\n'
        'target_col: "y"\n'
        "{% if FLAG %}\n"
        "primary_metric: mean_absolute_error\n"
        "extra_a: 1\n"
        "{% endif %}\n"
        "steps:\n"
        "  split:\n"
        "    bogus: 1\n"
        "model_registry: {model_name: m}\n"
    )
    with pytest.raises(ConfigError, match=r"recipe\.yaml:9: steps\.split\.bogus: unknown key"):
        load_recipe(tmp_path, "p", strict=True)


def test_keys_mlflow_recipes_ignored_are_warnings_and_left_out(tmp_path: Path) -> None:
    """#27, 1: MLflow's own templates suggest ``model_registry.uri`` in a comment; MLflow Recipes
    read only ``registry_uri`` and ``model_name`` and ran such a project. So does mlrecipes, saying
    so; strict (``--strict``) keeps the error."""
    root = make_root(
        tmp_path,
        BASE_RECIPE.replace("    model_name: m", "    model_name: m\n    timout: 30")
        + "model_registry:\n  uri: sqlite:///elsewhere.db\nNOTES: kept by MLflow Recipes\n",
    )
    loaded = load_recipe(root, "local")
    assert loaded.config.model_registry.registry_uri is None
    said = "\n".join(loaded.warnings)
    assert "model_registry.uri: unknown key; expected one of registry_uri, model_name" in said
    assert "steps.register.timout: unknown key" in said and "did you mean 'timeout'" in said
    assert "unknown top-level key 'NOTES'" in said and len(loaded.warnings) == 3
    assert "unknown top-level key 'NOTES'" in error_of(root)  # strict: the first is an error


def test_unknown_keys_in_mlrecipes_own_blocks_stay_errors(tmp_path: Path) -> None:
    """A typo in a block MLflow Recipes never had (deploy, monitor, features...) is an error in
    every mode, as is a typo that leaves a required key missing."""
    root = make_root(
        tmp_path, BASE_RECIPE + "  deploy:\n    confidnce: 0.9\n    key_columns: [id]\n"
    )
    with pytest.raises(ConfigError, match=r"steps\.deploy\.confidnce: unknown key.*'confidence'"):
        load_recipe(root, "local")
    (tmp_path / "m").mkdir()
    missing = make_root(
        tmp_path / "m", BASE_RECIPE.replace('target_col: "label"\n', 'target_coll: "label"\n')
    )
    with pytest.raises(ConfigError, match="target_col: required key is missing"):
        load_recipe(missing, "local")


def test_an_mlflow_pipelines_file_is_read_under_the_names_it_became() -> None:
    from mlrecipes.config.pipelines import from_pipelines, profile_from_pipelines

    data = {
        "template": "regression/v1",
        "data": {"location": "d.parquet", "format": "parquet",
                 "custom_loader_method": "steps.ingest.load"},
        "target_col": "y",
        "steps": {"train": {"using": "estimator_spec", "estimator_method": "steps.train.fit"},
                  "predict": {"output_location": "out", "output_format": "delta"}},
        "metrics": {"custom": [{"name": "m", "function": "m", "greater_is_better": False}],
                    "primary": "m"},
    }  # fmt: skip
    lines = {("template",): 1, ("data",): 2, ("data", "format"): 4, ("metrics", "primary"): 12}
    recipe, where, renamed = from_pipelines(data, lines)
    assert recipe == {
        "recipe": "regression/v1",
        "steps": {"ingest": {"location": "d.parquet", "using": "parquet", "loader_method": "load"},
                  "train": {"using": "custom", "estimator_method": "fit"},
                  "predict": {"location": "out", "using": "delta"}},
        "target_col": "y",
        "custom_metrics": [{"name": "m", "function": "m", "greater_is_better": False}],
        "primary_metric": "m",
    }  # fmt: skip
    assert where[("steps", "ingest", "using")] == 4 and where[("primary_metric",)] == 12
    assert "data.format -> steps.ingest.using" in renamed and "template -> recipe" in renamed
    profile = profile_from_pipelines({"model_registry": {"uri": "sqlite:///r.db"}, "X": 1})
    assert profile == {"model_registry": {"registry_uri": "sqlite:///r.db"}, "X": 1}
