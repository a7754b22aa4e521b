"""Load a recipe: render the profile, render recipe.yaml with its variables, merge, validate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mlrecipes.config.paths import PIPELINE_FILE, RECIPE_FILE, profile_path, recipe_file
from mlrecipes.config.pipelines import from_pipelines, profile_from_pipelines
from mlrecipes.config.schema import RecipeConfig
from mlrecipes.config.suggestions import did_you_mean
from mlrecipes.config.templating import (
    TemplateInputs,
    make_environment,
    parse_yaml,
    referenced_variables,
    render,
    source_lines,
)
from mlrecipes.errors import ConfigError


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe plus where each part came from (for messages and cache keys)."""

    root: Path
    profile: str
    config: RecipeConfig
    merged: dict[str, Any]
    variables: dict[str, Any]
    rendered_files: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # --var values
    template_inputs: TemplateInputs = field(default_factory=TemplateInputs)
    # keys MLflow Recipes ignored, ignored here too (an error under strict=True): one line each
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the files were read (pipeline.yaml)

    @property
    def profile_file(self) -> str:
        return profile_path(self.profile)

    def said(self) -> list[str]:
        """The notes and warnings of loading, one line each, for the person running it."""
        return [f"note: {n}" for n in self.notes] + [
            f"warning: {w} (ignored, as MLflow Recipes ignored it; --strict refuses it)"
            for w in self.warnings
        ]


def available_profiles(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "profiles").glob("*.yaml"))


def parse_var_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are parsed as YAML scalars (``0.5`` is a float)."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--var {item!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        overrides[key.strip()] = raw if isinstance(value, dict | list) else value
    return overrides


def load_recipe(
    root: Path,
    profile: str,
    overrides: dict[str, Any] | None = None,
    *,
    schema: type[RecipeConfig],
    strict: bool = False,
) -> LoadedRecipe:
    """Render, merge and validate ``recipe.yaml`` with ``profiles/<profile>.yaml`` against
    ``schema`` (the complete one: ``mlrecipes.execution.context.recipe_schema()``).

    An unknown key where MLflow Recipes ignored unknown keys (a top-level key, a key in one of
    its step blocks, ``experiment``, ``model_registry``, ``custom_metrics``) is a warning, and
    the key is left out, so a project that ran on MLflow Recipes runs here; ``strict`` makes it
    the error it is everywhere else (mlrecipes' own blocks: deploy, monitor, features, ...)."""
    root = root.resolve()
    prof_rel = _existing_profile(root, profile)
    recipe_rel = recipe_file(root)
    inputs = TemplateInputs()
    env = make_environment(root, inputs)

    profile_text = render(env, root, prof_rel, {})
    profile_data, profile_lines = parse_yaml(profile_text, prof_rel)
    if recipe_rel == PIPELINE_FILE:
        profile_data = profile_from_pipelines(profile_data)
    recipe_vars = referenced_variables(env, recipe_rel) if (root / recipe_rel).is_file() else set()
    variables = _variables(profile_data, overrides or {}, recipe_vars, prof_rel, recipe_rel)
    recipe_text = render(env, root, recipe_rel, variables)
    recipe_data, recipe_lines, notes = _recipe_data(env, root, recipe_rel, variables, recipe_text)
    known = set(schema.model_fields)
    warnings: list[str] = []
    merged, origins = _merged(
        (recipe_data, recipe_lines, recipe_rel), (variables, profile_lines, prof_rel), known,
        recipe_vars | set(overrides or {}), None if strict else warnings,
    )  # fmt: skip
    config_input = {k: v for k, v in merged.items() if k in known}
    config = _validated(schema, config_input, origins, None if strict else warnings)
    if config.model_name is None:
        raise ConfigError(
            f"{recipe_rel}: steps.register.model_name (or model_registry.model_name in {prof_rel}) "
            "is required: the name under which the model is registered"
        )
    return LoadedRecipe(
        root=root,
        profile=profile,
        config=config,
        merged=merged,
        variables=variables,
        rendered_files={recipe_rel: recipe_text, prof_rel: profile_text},
        overrides=dict(overrides or {}),
        template_inputs=inputs,
        warnings=warnings,
        notes=notes,
    )


def _recipe_data(
    env: Any, root: Path, recipe_rel: str, variables: dict[str, Any], text: str
) -> tuple[dict[str, Any], dict[tuple, int], list[str]]:
    """The rendered recipe file's data and line numbers (an MLflow Pipelines pipeline.yaml under
    recipe.yaml's names, said in a note)."""
    line_map = source_lines(env, root, recipe_rel, variables, text)
    data, lines = parse_yaml(text, recipe_rel, line_map)
    if not data:
        raise ConfigError(
            f"{recipe_rel}: the file is empty; expected at least 'recipe' "
            "(classification/v1 or regression/v1), 'target_col' and 'steps'"
        )
    if recipe_rel != PIPELINE_FILE:
        return data, lines, []
    data, lines, renamed = from_pipelines(data, lines)
    note = (
        f"{PIPELINE_FILE} (an MLflow Pipelines project; there is no {RECIPE_FILE}) read as a "
        f"recipe: {', '.join(renamed) or 'no key renamed'}"
    )
    return data, lines, [note]


def _existing_profile(root: Path, profile: str) -> str:
    """The profile's file, relative to the root (refused, with the profiles there, if absent)."""
    prof_rel = profile_path(profile)
    if not (root / prof_rel).is_file():
        names = available_profiles(root)
        hint = did_you_mean(profile, names)
        raise ConfigError(
            f"{prof_rel}: profile '{profile}' not found; available profiles: "
            f"{', '.join(names) or 'none'}{hint}"
        )
    return prof_rel


def _variables(
    profile_data: dict[str, Any],
    overrides: dict[str, Any],
    recipe_vars: set[str],
    prof_rel: str,
    recipe_rel: str = RECIPE_FILE,
) -> dict[str, Any]:
    """The profile's variables with the ``--var`` overrides, each of which must name one."""
    variables = dict(profile_data)
    for key, value in overrides.items():
        if key not in variables and key not in recipe_vars:
            raise ConfigError(
                f"--var {key}: not a variable of {prof_rel} and not used in {recipe_rel}"
                f"{did_you_mean(key, list(variables) + sorted(recipe_vars))}"
            )
        variables[key] = value
    return variables


def _merged(
    recipe: tuple[dict[str, Any], dict[tuple, int], str],
    profile: tuple[dict[str, Any], dict[tuple, int], str],
    known: set[str],
    template_vars: set[str],
    warnings: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[str, dict[tuple, int]]]]:
    """recipe.yaml's blocks plus the blocks a profile adds, and the file each came from; a
    profile may not override a key of recipe.yaml, and every key must be a block or a
    template variable (else an error, or with ``warnings`` a warning: MLflow Recipes kept such
    keys in its configuration, unused)."""
    (recipe_data, recipe_lines, recipe_rel), (variables, profile_lines, prof_rel) = recipe, profile
    merged: dict[str, Any] = dict(recipe_data)
    origins: dict[str, tuple[str, dict[tuple, int]]] = {
        k: (recipe_rel, recipe_lines) for k in recipe_data
    }
    for key, value in variables.items():
        if key in recipe_data:
            raise ConfigError(
                f"{prof_rel}:{profile_lines.get((key,), '?')}: top-level key '{key}' is also set in "
                f"{recipe_rel} (line {recipe_lines.get((key,), '?')}); a profile may add blocks or "
                "fill template variables, not override keys of recipe.yaml"
            )
        if key in known:
            merged[key] = value
            origins[key] = (prof_rel, profile_lines)
        elif key not in template_vars:
            _unknown(
                f"{prof_rel}:{profile_lines.get((key,), '?')}: unknown key '{key}': it is neither a "
                f"recipe block ({', '.join(sorted(known))}) nor a variable used in {recipe_rel}"
                f"{did_you_mean(key, sorted(known))}",
                warnings,
            )
    for key in recipe_data:
        if key not in known:
            _unknown(
                f"{recipe_rel}:{recipe_lines.get((key,), '?')}: unknown top-level key '{key}'; "
                f"expected one of {', '.join(sorted(known))}{did_you_mean(key, sorted(known))}",
                warnings,
            )
    return merged, origins


def _unknown(message: str, warnings: list[str] | None) -> None:
    if warnings is None:
        raise ConfigError(message)
    warnings.append(message)


# where MLflow Recipes read only the keys it knew and ignored the rest
RECIPES_BLOCKS = frozenset({"experiment", "model_registry", "custom_metrics"})
RECIPES_STEPS = frozenset(
    {"ingest", "split", "transform", "train", "evaluate", "register", "ingest_scoring", "predict"}
)


def _ignorable(loc: tuple) -> bool:
    """An unknown key that MLflow Recipes would have ignored (its own blocks only)."""
    if not loc:
        return False
    if loc[0] in RECIPES_BLOCKS:
        return True
    return loc[0] == "steps" and len(loc) > 2 and loc[1] in RECIPES_STEPS


def _validated(
    schema: type[RecipeConfig],
    config_input: dict[str, Any],
    origins: dict[str, tuple[str, dict[tuple, int]]],
    warnings: list[str] | None,
) -> RecipeConfig:
    """The validated configuration. With ``warnings``, unknown keys MLflow Recipes ignored are
    left out and said there; any other problem (or any unknown key without ``warnings``) is the
    error naming every problem found."""
    while True:
        try:
            return schema.model_validate(config_input)
        except ValidationError as exc:
            errors = exc.errors()
            lenient = warnings is not None and all(
                e["type"] == "extra_forbidden" and _ignorable(_location(e)) for e in errors
            )
            before = config_input
            for err in errors if lenient else ():
                config_input = _without(config_input, _location(err))
            if config_input == before:  # strict, another problem, or a key not found to drop
                raise ConfigError(_format_validation_error(exc, origins, schema)) from exc
            warnings.extend(_describe(err, origins, schema) for err in errors)


def _location(err: Any) -> tuple:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    # pydantic adds union member names (e.g. 'str', 'list[str]') to locations; drop them
    return tuple(p for p in loc if p not in {"str", "int", "float", "bool", "list[str]"})


def _without(data: Any, loc: tuple) -> Any:
    """``data`` (nested dicts and lists) without the key at ``loc`` (a copy along the path)."""
    head, rest = loc[0], loc[1:]
    if isinstance(data, dict) and head in data:
        if not rest:
            return {k: v for k, v in data.items() if k != head}
        return {**data, head: _without(data[head], rest)}
    if isinstance(data, list) and isinstance(head, int):
        return [_without(v, rest) if i == head else v for i, v in enumerate(data)]
    return data


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Allowed keys of the model reached by following ``loc`` (for 'did you mean')."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = _model_in_annotation(info.annotation)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in_annotation(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in_annotation(arg)
        if found is not None:
            return found
    return None


def _format_validation_error(
    exc: ValidationError,
    origins: dict[str, tuple[str, dict[tuple, int]]],
    schema: type[RecipeConfig],
) -> str:
    messages = [_describe(err, origins, schema) for err in exc.errors()]
    unique = list(dict.fromkeys(messages))
    return (
        unique[0] if len(unique) == 1 else "invalid recipe configuration:\n  " + "\n  ".join(unique)
    )


def _describe(
    err: Any, origins: dict[str, tuple[str, dict[tuple, int]]], schema: type[RecipeConfig]
) -> str:
    """One problem as ``file:line: dotted.key: what was expected``."""
    loc = _location(err)
    file_name, lines = origins.get(str(loc[0]) if loc else "", (RECIPE_FILE, {}))
    line = None
    for cut in range(len(loc), 0, -1):
        line = lines.get(loc[:cut])
        if line:
            break
    where = f"{file_name}:{line}" if line else file_name
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(schema, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed)
        what = f"unknown key; expected one of {', '.join(allowed)}{hint}"
    elif kind == "missing":
        what = "required key is missing"
    elif kind == "value_error":
        what = str(err["ctx"].get("error", err["msg"])) if err.get("ctx") else err["msg"]
    else:
        what = f"expected {_expected(err)}, got {err.get('input')!r}"
    return f"{where}: {dotted}: {what}"


def _expected(err: dict[str, Any]) -> str:
    msg: str = err["msg"]
    for prefix in ("Input should be ", "Value should be "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg[0].lower() + msg[1:] if msg else "a valid value"
