"""`mlrecipes demo reset` (the seed's demo-setup): asks first, removes a profile's experiments,
model, tables, outputs and execution directory, is idempotent, refuses prod without --i-know,
and leaves the profile able to start again from nothing."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import cli, copy_template

pytestmark = pytest.mark.slow


def test_reset_removes_everything_once_confirmed_and_is_idempotent(tmp_path) -> None:
    root = copy_template(tmp_path / "churn", rows=1200)
    assert cli("run", "--profile", "local", cwd=root).returncode == 0
    assert cli("run", "--profile", "local", "--step", "monitor", cwd=root).returncode == 0
    uri = f"sqlite:///{root / 'metadata/mlflow/mlruns.db'}"
    client = MlflowClient(uri, uri)
    assert client.get_registered_model("churn").aliases["champion"] in (1, "1")
    made = [
        root / p
        for p in ("data/scores/churn_local", "data/monitoring/churn_local", ".mlrecipes/local")
    ]
    assert all(p.exists() for p in made)

    declined = cli("demo", "reset", "--profile", "local", cwd=root, input_text="n\n")
    assert declined.returncode == 1 and "nothing removed" in declined.stderr
    assert "experiment 'churn-local-monitoring'" in declined.stderr
    assert all(p.exists() for p in made)

    done = cli("demo", "reset", "--profile", "local", "--yes", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "experiment 'churn-local'" in done.stdout and "registered model 'churn'" in done.stdout
    assert not any(p.exists() for p in made)
    assert client.search_registered_models() == []
    assert [e.name for e in client.search_experiments()] == ["Default"]
    again = cli("demo", "reset", "--profile", "local", "--yes", cwd=root)
    assert again.returncode == 0 and "removed 0 item(s)" in again.stdout

    fresh = cli("run", "--profile", "local", cwd=root)
    assert fresh.returncode == 0, fresh.stderr
    assert client.get_registered_model("churn").aliases["champion"] in (1, "1")

    prod = cli("demo", "reset", "--profile", "prod", "--yes", cwd=root)
    assert prod.returncode == 1 and "refusing to reset 'prod' without --i-know" in prod.stderr


def _listing(base) -> dict[str, int]:
    """Every file and link under ``base`` (not following links), with its size."""
    return {
        str(p.relative_to(base)): (p.lstat().st_size if not p.is_dir() or p.is_symlink() else -1)
        for p in sorted(base.rglob("*"))
    }


def _registries(root) -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for db in sorted((root / "metadata" / "mlflow").glob("*.db")):
        client = MlflowClient(f"sqlite:///{db}", f"sqlite:///{db}")
        models = sorted(m.name for m in client.search_registered_models())
        experiments = sorted(e.name for e in client.search_experiments())
        out[db.name] = (models, experiments)
    return out


def test_reset_and_clean_touch_nothing_outside_the_profiles_own_roots(tmp_path) -> None:
    root = copy_template(tmp_path / "churn", rows=400)
    victim = tmp_path / "victim"  # somebody's folder outside the project
    (victim / "dev" / "steps" / "train").mkdir(parents=True)
    (victim / "dev" / "steps" / "train" / "precious.txt").write_text("keep me")
    (victim / "precious.txt").write_text("keep me too")
    for env in ("prod", "dev"):
        (root / "data" / "scores" / f"churn_{env}").mkdir(parents=True)
        (root / "data" / "scores" / f"churn_{env}" / "part-0.parquet").write_text(env)
        (root / "metadata" / "mlflow").mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{root / 'metadata' / 'mlflow' / f'{env}.db'}"
        client = MlflowClient(uri, uri)
        client.create_registered_model(f"{env}.churn.churn_model")
        client.create_experiment(f"churn-{env}")
    (root / "data" / "innocent").symlink_to(victim)
    (root / "profiles" / "prod_eu.yaml").write_text((root / "profiles" / "prod.yaml").read_text())
    data = {"CHURN_DATA_LOCATION": "data/telco_sample.csv"}
    eu_data = {  # a second region's own data: its model and experiments are still prod's
        f"CHURN_{key}": f"data/{key.lower()}/prod_eu"
        for key in ("FEATURE_STORE_ROOT", "SCORING_OUTPUT_LOCATION", "MONITORING_TABLE_LOCATION")
    }
    before = (_listing(tmp_path), _registries(root))
    prod_scores = root / "data" / "scores" / "churn_prod"
    hostile = [
        ("dev", {"CHURN_SCORING_OUTPUT_LOCATION": "data/scores/churn_prod"}, "another environment's data"),
        ("dev", {"CHURN_SCORING_OUTPUT_LOCATION": f"file:{prod_scores}"}, "another environment's data"),
        ("dev", {"CHURN_SCORING_OUTPUT_LOCATION": f"file://localhost{prod_scores}"}, "another environment's data"),
        ("dev", {"CHURN_FEATURE_STORE_ROOT": str(victim)}, "outside the recipe root"),
        ("dev", {"CHURN_FEATURE_STORE_ROOT": f"file://{victim}"}, "outside the recipe root"),
        ("dev", {"CHURN_MONITORING_TABLE_LOCATION": "../victim"}, "outside the recipe root"),
        ("dev", {"CHURN_FEATURE_STORE_ROOT": "data/innocent"}, "outside the recipe root"),
        ("dev", {"MLRECIPES_EXECUTION_DIR": str(victim)}, "holds no run's events"),
        ("prod_eu", {}, "prod's data root data/feature_store/prod"),
        ("prod_eu", eu_data, "registered model 'prod.churn.churn_model' of protected environment 'prod'"),
        ("prod", {}, "refusing to reset 'prod' without --i-know"),
    ]  # fmt: skip
    for profile, variables, said in hostile:
        refused = cli("demo", "reset", "--profile", profile, "--yes", cwd=root,
                      env={**data, **variables})  # fmt: skip
        assert refused.returncode == 1, (profile, variables, refused.stdout)
        assert said in refused.stderr, (profile, variables, refused.stderr)
        assert (_listing(tmp_path), _registries(root)) == before, (profile, variables)
    # clean: a foreign execution directory, and a steps folder that links out of its own
    refused = cli(
        "clean", "--profile", "dev", cwd=root, env={**data, "MLRECIPES_EXECUTION_DIR": str(victim)}
    )
    assert refused.returncode == 1 and "not this profile's" in refused.stderr
    (root / ".mlrecipes" / "dev").mkdir(parents=True)
    (root / ".mlrecipes" / "dev" / "steps").symlink_to(victim / "dev" / "steps")
    before = (_listing(tmp_path), _registries(root))
    refused = cli("clean", "--profile", "dev", "--step", "train", cwd=root, env=data)
    assert refused.returncode == 1 and "outside the execution directory" in refused.stderr
    assert (_listing(tmp_path), _registries(root)) == before
    (root / ".mlrecipes" / "dev" / "steps").unlink()

    # the control: a reset of dev's own things removes exactly them
    done = cli("demo", "reset", "--profile", "dev", "--yes", cwd=root, env=data)
    assert done.returncode == 0, done.stderr
    after = (_listing(tmp_path), _registries(root))
    gone = set(before[0]) - set(after[0])
    assert gone and all(
        p.startswith(("churn/data/scores/churn_dev", "churn/.mlrecipes/dev")) for p in gone
    )
    assert after[1]["dev.db"] == ([], ["Default"]) and after[1]["prod.db"] == before[1]["prod.db"]
