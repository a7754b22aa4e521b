"""Access control on a real MLflow server run with ``--app-name basic-auth`` (127.0.0.1, SQLite
tracking and auth databases, default permission READ), through the real CLI: the template's
access.yaml applied (first writer revoked, idempotent), a dev identity refused in prod with a
clear error and nothing left behind, only the prod identity moving champion, no secret anywhere."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.conftest import cli, copy_template
from tests.servers import basic_auth_server

pytestmark = pytest.mark.slow
PROD_MODEL, PROD_EXPERIMENT = "prod.churn.churn_model", "churn-prod"


def _secret(label: str) -> str:
    return f"{label}-{secrets.token_hex(10)}"


PASSWORDS = {
    "admin": _secret("admin"),
    "ds-alice": _secret("alice"),
    "ci-staging": _secret("ci"),
    "prod-deployer": _secret("deployer"),
}
IDENTITY_ENV = {
    "MLRECIPES_PASSWORD_DS_ALICE": PASSWORDS["ds-alice"],
    "MLRECIPES_PASSWORD_CI_STAGING": PASSWORDS["ci-staging"],
    "MLRECIPES_PASSWORD_PROD_DEPLOYER": PASSWORDS["prod-deployer"],
}


def as_user(uri: str, user: str | None) -> dict[str, str]:
    """The environment of a command run as ``user`` (None: no credentials at all)."""
    return {
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_TRACKING_USERNAME": user or "",
        "MLFLOW_TRACKING_PASSWORD": PASSWORDS[user] if user else "",
    }


def client_as(uri: str, user: str) -> MlflowClient:
    """A client with ``user``'s credentials (MLflow reads them from the environment per call)."""
    os.environ.update(as_user(uri, user))
    return MlflowClient(uri, uri)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("access")
    root = copy_template(base / "churn", rows=1500, seed=11)
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    with basic_auth_server(base / "server", PASSWORDS["admin"], _secret("flask")) as uri:
        admin = {**as_user(uri, "admin"), **IDENTITY_ENV}
        out: dict = {
            "root": root, "uri": uri, "admin": admin, "logs": [], "server": base / "server"
        }  # fmt: skip

        def run(*args: str, env: dict) -> object:
            result = cli(
                *args, cwd=root, env={**env, "CHURN_DATA_LOCATION": "data/telco_sample.csv"}
            )
            out["logs"] += [result.stdout, result.stderr]
            return result

        out["run"] = run
        # a data scientist who exists already creates the prod model before access apply does
        os.environ.update(admin)
        from mlflow.server import get_app_client

        get_app_client("basic-auth", tracking_uri=uri).create_user(
            "ds-alice", PASSWORDS["ds-alice"]
        )
        client_as(uri, "ds-alice").create_registered_model(PROD_MODEL)
        out["dry"] = run("access", "apply", "--tracking-uri", uri, "--dry-run", "--json", env=admin)
        out["first"] = run("access", "apply", "--tracking-uri", uri, env=admin)
        out["second"] = run("access", "apply", "--tracking-uri", uri, "--json", env=admin)
        try:
            yield out
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def test_apply_creates_every_resource_and_revokes_the_first_writer(world: dict) -> None:
    dry = world["dry"]
    assert dry.returncode == 0, dry.stderr
    changes = json.loads(dry.stdout)["changes"]
    created = {(c["resource"]["kind"], c["resource"]["name"]) for c in changes if c["action"].startswith("create_") and c["resource"]}  # fmt: skip
    assert ("experiment", PROD_EXPERIMENT) in created and (
        "registered_model",
        PROD_MODEL,
    ) not in created
    assert {"ci-staging", "prod-deployer"} == {
        c["identity"] for c in changes if c["action"] == "create_user"
    }
    # ds-alice is declared READ in prod: her creator's MANAGE is taken back down to it
    taken = [c for c in changes if c["previous"] == "MANAGE"]
    assert [
        (c["action"], c["identity"], c["resource"]["name"], c["permission"]) for c in taken
    ] == [("change", "ds-alice", PROD_MODEL, "READ")]
    assert "created this before access apply" in taken[0]["note"]
    first = world["first"]
    assert first.returncode == 0, first.stderr
    line = "~ 'ds-alice' on registered model 'prod.churn.churn_model' (prod): MANAGE -> READ"
    assert line in first.stdout
    second = world["second"]
    assert second.returncode == 0 and json.loads(second.stdout)["changes"] == []


def test_show_prints_the_environment_identity_matrix(world: dict) -> None:
    shown = world["run"](
        "access", "show", "--tracking-uri", world["uri"], "--json", env=world["admin"]
    )
    assert shown.returncode == 0, shown.stderr
    rows = {(r["environment"], r["name"], r["identity"]): r for r in json.loads(shown.stdout)}
    assert rows[("prod", PROD_MODEL, "prod-deployer")]["permission"] == "EDIT"
    assert rows[("prod", PROD_MODEL, "ci-staging")]["permission"] == "READ"
    assert rows[("prod", PROD_MODEL, "ds-alice")]["permission"] == "READ"
    assert rows[("dev", "churn-dev", "ds-alice")]["permission"] == "EDIT"
    assert rows[("staging", "churn-staging", "ci-staging")]["permission"] == "EDIT"
    assert all(r["matches"] for r in rows.values())


def test_a_dev_identity_running_prod_fails_at_the_first_write_and_leaves_nothing(
    world: dict,
) -> None:
    result = world["run"]("run", "--profile", "prod", env=as_user(world["uri"], "ds-alice"))
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert "refused user 'ds-alice'" in message
    assert f"experiment '{PROD_EXPERIMENT}'" in message and "needs EDIT" in message
    status = world["run"](
        "inspect", "--profile", "prod", "--step", "train", "--json", env=world["admin"]
    )
    train = json.loads(status.stdout)["steps"][0]
    assert train["status"] == "FAILED" and "refused user 'ds-alice'" in train["error"]
    admin = client_as(world["uri"], "admin")
    experiment = admin.get_experiment_by_name(PROD_EXPERIMENT)
    assert admin.search_runs([experiment.experiment_id]) == []
    assert admin.search_model_versions(f"name = '{PROD_MODEL}'") == []
    assert admin.get_registered_model(PROD_MODEL).aliases == {}


def test_only_the_prod_identity_moves_champion(world: dict) -> None:
    run, uri = world["run"], world["uri"]
    prod = as_user(uri, "prod-deployer")
    trained = run("run", "--profile", "prod", env=prod)
    assert trained.returncode == 0, trained.stderr
    admin = client_as(uri, "admin")
    assert [v.version for v in admin.search_model_versions(f"name = '{PROD_MODEL}'")] == ["1"]
    # prod waits for approval; a data scientist cannot give it
    alice = as_user(uri, "ds-alice")
    refused = run("approve", "--profile", "prod", "--version", "1", env=alice)
    assert refused.returncode == 1 and "refused user 'ds-alice'" in refused.stderr
    assert "needs EDIT" in refused.stderr and PROD_MODEL in refused.stderr
    assert "champion" not in admin.get_registered_model(PROD_MODEL).aliases  # only challenger
    approved = run("approve", "--profile", "prod", "--version", "1", env=prod)
    assert approved.returncode == 0, approved.stderr
    assert admin.get_model_version_by_alias(PROD_MODEL, "champion").version == "1"
    # a second champion, moved by the prod identity; then a rollback, refused to the dev identity
    deployer = client_as(uri, "prod-deployer")
    source = deployer.get_model_version(PROD_MODEL, "1").source  # models:/m-<logged model id>
    deployer.create_model_version(PROD_MODEL, source, model_id=source.removeprefix("models:/"))
    deployer.set_registered_model_alias(PROD_MODEL, "previous_champion", "1")
    deployer.set_registered_model_alias(PROD_MODEL, "champion", "2")
    with pytest.raises(MlflowException, match=r"PERMISSION_DENIED|Permission denied"):
        client_as(uri, "ds-alice").set_registered_model_alias(PROD_MODEL, "champion", "1")
    refused = run("rollback", "--profile", "prod", env=alice)
    assert refused.returncode == 1 and "refused user 'ds-alice'" in refused.stderr
    aliases = client_as(uri, "admin").get_registered_model(PROD_MODEL).aliases
    assert (aliases["champion"], aliases["previous_champion"]) == ("2", "1")
    rolled = run("rollback", "--profile", "prod", env=prod)
    assert rolled.returncode == 0, rolled.stderr
    assert client_as(uri, "admin").get_model_version_by_alias(PROD_MODEL, "champion").version == "1"


def test_a_decision_records_who_authenticated_and_a_declared_name_only_beside_it(
    world: dict,
) -> None:
    """A deployer declaring somebody else's name records a decision as their own."""
    run, uri = world["run"], world["uri"]
    claims = {"MLRECIPES_DECIDER": "ds-alice", "GITHUB_ACTOR": "ds-alice"}
    rolled = run("rollback", "--profile", "prod", "--reason", "second look",
                 env={**as_user(uri, "prod-deployer"), **claims})  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr
    shown = run("champion", "--profile", "prod", "--json", env=world["admin"])
    event = json.loads(shown.stdout)["history"][-1]
    assert (event["event"], event["reason"]) == ("rollback", "second look")
    assert event["by"] == "prod-deployer" and event["by_source"] == "mlflow basic-auth"
    assert event["declared_by"] == "ds-alice"
    listed = run("champion", "--profile", "prod", env=world["admin"]).stdout.splitlines()[-1]
    assert "by prod-deployer (declared: ds-alice): second look" in listed


def test_prod_cards_show_no_customer_rows(world: dict) -> None:
    """Anyone with READ on prod opens its cards: schema and statistics, no record."""
    cards = sorted((world["root"] / ".mlrecipes" / "prod" / "steps").glob("*/card.json"))
    assert {c.parent.name for c in cards} >= {"ingest", "transform", "train"}
    ids = set(pd.read_csv(world["root"] / "data" / "telco_sample.csv")["customerID"])
    for card in cards:
        text = card.read_text()
        assert not [i for i in ids if i in text], card
        blocks = [b for t in json.loads(text)["tabs"] for b in t["blocks"]]
        assert not any(b.get("row_level") for b in blocks), card
    notes = [c for c in cards if "row previews are off for profile 'prod'" in c.read_text()]
    assert {c.parent.name for c in notes} >= {"transform", "train"}


def test_credentials_in_the_uri_work_and_are_never_recorded_or_printed(world: dict) -> None:
    """ci-staging's password only in the URI: the staging loop runs with it, says once where
    credentials belong, and the run's outputs, the process list and --json hold no password
    (test_no_secret_is_written_anywhere then scans every file, artifact and output)."""
    run, uri = world["run"], world["uri"]
    password = PASSWORDS["ci-staging"]
    env = {
        **as_user(uri, None),
        "MLFLOW_TRACKING_URI": uri.replace("http://", f"http://ci-staging:{password}@"),
    }
    with _process_list_sampled() as seen:
        whole = ("--var", "INGEST_SAMPLE_FRACTION=1.0")  # staging samples 30% of 1,500 rows
        trained = run("run", "--profile", "staging", *whole, env=env)
        assert trained.returncode == 0, trained.stderr
        scored = run("run", "--profile", "staging", "--step", "predict", *whole, env=env)
        assert scored.returncode == 0, scored.stderr
    assert trained.stderr.count("the tracking URI carries credentials") == 1
    world["logs"] += seen
    assert any("mlrecipes" in line and "staging" in line for line in seen)  # it sampled the run
    for args in (("inspect", "--step", "train"), ("champion",)):
        shown = run(*args, "--profile", "staging", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert password not in shown.stdout
    status = json.loads(run("inspect", "--profile", "staging", "--json", env=env).stdout)
    assert status["tracking_uri"] == uri
    admin = client_as(uri, "admin")
    version = admin.get_model_version_by_alias("staging.churn.churn_model", "champion")
    assert version.tags["mlrecipes.deploy.decided_by"] == "ci-staging"


@contextmanager
def _process_list_sampled() -> Iterator[list[str]]:
    """Every process's whole command line (from /proc: `ps` cuts lines at 80 columns when its
    output is a pipe), sampled every 0.2 s while the block runs."""
    seen: list[str] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    seen.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:  # the process ended meanwhile
                    continue
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join()


def test_unauthenticated_calls_are_refused(world: dict) -> None:
    shown = world["run"](
        "access", "show", "--tracking-uri", world["uri"], env=as_user(world["uri"], None)
    )
    assert shown.returncode == 1 and "HTTP 401" in shown.stderr
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(key, None)
    with pytest.raises(MlflowException, match=r"UNAUTHENTICATED|401"):
        MlflowClient(world["uri"], world["uri"]).search_experiments()
    wrong = {**as_user(world["uri"], "ds-alice"), "MLFLOW_TRACKING_PASSWORD": "not-the-password"}
    result = world["run"]("run", "--profile", "dev", env=wrong)
    assert result.returncode == 1 and "did not authenticate user 'ds-alice'" in result.stderr


def test_no_secret_is_written_anywhere(world: dict) -> None:
    """The execution directory, cards, data, logs and every MLflow param and tag."""
    secrets_ = [p.encode() for p in PASSWORDS.values()]
    leaks = []
    for path in world["root"].rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            leaks += [str(path) for s in secrets_ if s in content]
    for text in world["logs"]:
        leaks += ["a command's output" for s in secrets_ if s.decode() in (text or "")]
    admin = client_as(world["uri"], "admin")
    for experiment in admin.search_experiments():
        for run in admin.search_runs([experiment.experiment_id]):
            values = json.dumps([run.data.params, run.data.tags])
            leaks += [f"run {run.info.run_id}" for s in secrets_ if s.decode() in values]
    for version in admin.search_model_versions(f"name = '{PROD_MODEL}'"):
        leaks += [
            f"version {version.version}" for s in secrets_ if s.decode() in json.dumps(version.tags)
        ]
    stored = [p for p in world["server"].rglob("*") if p.is_file()]
    for path in stored:  # every artifact the runs logged (cards, snapshots, model files), the DB
        content = path.read_bytes()
        leaks += [f"server file {path}" for s in secrets_ if s in content]
    assert leaks == []
    assert any(path.suffix == ".html" for path in world["root"].rglob("*"))  # cards were scanned
    assert any(path.name == "MLmodel" for path in stored)  # and the server's artifacts
