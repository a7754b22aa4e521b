"""The Databricks bundle, checked offline: every job parses with the databricks-bundles package's
typed classes, and every task's command is a valid `mlrecipes` invocation of an existing profile
and step, for every target; a broken copy is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import yaml
from databricks.bundles.jobs import Job

from mlrecipes.cli import app
from mlrecipes.execution import dag
from mlrecipes.jobs.bundle import load_bundle, plan_job
from tests.conftest import REPO

PIPELINES = {
    "feature_table_creation", "model_train", "model_inference_batch", "monitoring",
    "retraining_trigger",
}  # fmt: skip


def command_problems(args: tuple[str, ...], root: Path) -> list[str]:
    """What is wrong with one task's `mlrecipes` arguments (empty: a valid invocation)."""
    command = app.commands.get(args[0])
    if command is None:
        return [f"no command '{args[0]}'"]
    try:
        ctx = command.make_context(args[0], list(args[1:]), resilient_parsing=False)
    except click.ClickException as exc:
        return [f"{args[0]}: {exc.format_message()}"]
    problems = []
    profile = ctx.params.get("profile")
    if not (root / "profiles" / f"{profile}.yaml").is_file():
        problems.append(f"no profile '{profile}'")
    step = ctx.params.get("step")
    if step is not None and step not in dag.all_steps():
        problems.append(f"no step '{step}'")
    if ctx.params.get("recipe_root") != root:
        problems.append(f"--recipe-root is {ctx.params.get('recipe_root')}, not the recipe")
    return problems


def all_problems(root: Path) -> list[str]:
    bundle = load_bundle(root)
    problems = []
    for key, job in bundle["resources"]["jobs"].items():
        try:
            Job.from_dict(job)
        except (ValueError, TypeError) as exc:
            problems.append(f"{key}: {exc}")
        for target in bundle["targets"]:
            for task in plan_job(bundle, key, target, None, root).tasks:
                problems += [
                    f"{target}/{key}/{task.key}: {p}" for p in command_problems(task.args, root)
                ]
    return problems


def test_every_job_parses_and_every_command_is_valid_for_every_target() -> None:
    assert all_problems(REPO) == []


def test_the_five_pipelines_are_jobs_with_schedules_and_the_profile_as_a_parameter() -> None:
    bundle = load_bundle(REPO)
    jobs = bundle["resources"]["jobs"]
    assert set(jobs) == PIPELINES
    assert all(job["schedule"]["quartz_cron_expression"] for job in jobs.values())
    assert all([p["name"] for p in job["parameters"]] == ["profile"] for job in jobs.values())
    assert {t: spec["variables"]["profile"] for t, spec in bundle["targets"].items()} == {
        "dev": "dev", "staging": "staging", "prod": "prod",
    }  # fmt: skip
    assert bundle["targets"]["prod"]["mode"] == "production"
    assert bundle["targets"]["prod"]["variables"]["schedule_pause_status"] == "UNPAUSED"
    train = plan_job(bundle, "model-train", "prod", None, REPO)
    assert [(t.key, t.depends_on) for t in train.tasks] == [("train", ()), ("deploy", ("train",))]
    assert train.tasks[1].args[:5] == ("run", "--profile", "prod", "--step", "deploy")
    monitoring = plan_job(bundle, "monitoring", "staging", "local", REPO)
    assert monitoring.tasks[0].args[:6] == (
        "run",
        "--profile",
        "local",
        "--step",
        "monitor",
        "--only",
    )


def test_a_broken_bundle_is_caught(tmp_path: Path) -> None:
    for part in ("databricks.yml", "resources", "profiles"):
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / part)
    path = tmp_path / "resources" / "model_train.yml"
    data = yaml.safe_load(path.read_text())
    tasks = data["resources"]["jobs"]["model_train"]["tasks"]
    tasks[0]["python_wheel_task"]["parameters"][4] = "trian"  # --step trian
    tasks[1]["python_wheel_task"]["parameters"].append("--colour")
    data["resources"]["jobs"]["model_train"]["schedule"]["cron"] = "daily"
    path.write_text(yaml.safe_dump(data))
    problems = "\n".join(all_problems(tmp_path))
    assert "model_train: Unexpected field 'cron'" in problems
    assert "prod/model_train/train: no step 'trian'" in problems
    assert "prod/model_train/deploy: run: No such option '--colour'" in problems


def test_a_local_run_with_another_profile_is_named_by_that_profile() -> None:
    """#29: `job run model-train --profile local` said `job churn-model-train-dev`."""
    bundle = load_bundle(REPO)
    own = plan_job(bundle, "model-train", "dev", None, REPO)
    assert (own.profile, own.title) == ("dev", "churn-model-train-dev")
    local = plan_job(bundle, "model-train", "dev", "local", REPO)
    assert local.title == "model-train (profile local, target dev)"
    assert all("--profile local" in " ".join(t.args) for t in local.tasks)
