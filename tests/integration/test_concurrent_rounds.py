"""Two deploys and two retrains at once, from separate processes, against one SQLite registry
and one file store, round after round (#31): the champion is always a version compared with the
one it replaced, and at most one retrain fires per drift episode. Each round starts from the
same state (champion v1, an empty trigger history) so that every round is the same race."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from deltalake import DeltaTable, write_deltalake
from mlflow.tracking import MlflowClient

from mlrecipes.deployment.audit import events_of
from mlrecipes.loop.retrain import TRIGGER_SCHEMA
from tests.conftest import cli, copy_template
from tests.integration.test_deploy import WEAK
from tests.integration.test_monitoring import month
from tests.integration.test_trust_runs import MLRECIPES

pytestmark = pytest.mark.slow
ROUNDS = int(os.environ.get("MLRECIPES_TEST_ROUNDS", "20"))  # at least 20 in the suite
TRIGGER = "data/monitoring/churn_local_trigger"
DECISION_TAGS = (
    "mlrecipes.deploy.decision", "mlrecipes.deploy.decided_at",
    "mlrecipes.deploy.champion_version", "mlrecipes.deploy.replaces",
)  # fmt: skip


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Checkout ``a`` with champion v1 (weak) and challenger v2, checkout ``b`` with v3; ``a``
    has three scored windows, two of them drifted (the trigger fires on them)."""
    tmp = tmp_path_factory.mktemp("rounds")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'shared.db'}"}
    a = copy_template(tmp / "a", rows=6000)
    b = copy_template(tmp / "b", rows=6000)
    first = cli("run", "--profile", "local", "--var", WEAK, cwd=a, env=env)
    assert first.returncode == 0, first.stderr
    for when, kind, seed in (("2026-02-28", "stable", 401), ("2026-03-31", "covariate", 402),
                             ("2026-04-30", "covariate", 403)):  # fmt: skip
        month(kind, seed, 800).drop(columns=["Churn"]).to_csv(a / f"data/{kind}{seed}.csv", index=False)  # fmt: skip
        scored = cli("run", "--profile", "local", "--step", "monitor",
                     "--var", f"SCORING_DATA_LOCATION=data/{kind}{seed}.csv",
                     "--var", f"SCORING_TIME={when}T00:00:00", cwd=a, env=env)  # fmt: skip
        assert scored.returncode == 0, scored.stderr
    for root, params in ((a, "ESTIMATOR_PARAMS={C: 0.2}"), (b, "ESTIMATOR_PARAMS={C: 0.05}")):
        done = cli("run", "--profile", "local", "--step", "register", "--var", params,
                   cwd=root, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
    uri = env["MLFLOW_TRACKING_URI"]
    return {"a": a, "b": b, "env": env, "client": MlflowClient(uri, uri)}


def _reset(state: dict) -> None:
    """Champion v1, no decision on v2 and v3, no retrain yet, no cached deploy."""
    client: MlflowClient = state["client"]
    client.set_registered_model_alias("churn", "champion", "1")
    aliases = client.get_registered_model("churn").aliases
    if "previous_champion" in aliases:
        client.delete_registered_model_alias("churn", "previous_champion")
    for version in ("2", "3"):
        tags = client.get_model_version("churn", version).tags
        for key in tags:
            if key in DECISION_TAGS:
                client.delete_model_version_tag("churn", version, key)
    write_deltalake(str(state["a"] / TRIGGER), TRIGGER_SCHEMA.empty_table(), mode="overwrite")
    for root in (state["a"], state["b"]):
        assert cli("clean", "--profile", "local", "--step", "deploy", cwd=root).returncode == 0


def _start(root: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [MLRECIPES, *args], cwd=root, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_deploys_and_two_retrains_at_once_round_after_round(shared: dict) -> None:
    a, b, env, client = shared["a"], shared["b"], shared["env"], shared["client"]
    deploy_a = ("run", "--profile", "local", "--var", "ESTIMATOR_PARAMS={C: 0.2}")
    deploy_b = ("run", "--profile", "local", "--var", "ESTIMATOR_PARAMS={C: 0.05}")
    # the retrains fire in checkout a, on a's data: their run is a's deploy, a third contender
    retrain = ("retrain", "--profile", "local", "--json", "--var", "ESTIMATOR_PARAMS={C: 0.2}")
    fired_rounds, decisions, waited = [], 0, {"deploy": 0, "retrain": 0}
    for round_ in range(ROUNDS):
        _reset(shared)
        started = datetime.now(UTC).isoformat(timespec="microseconds")
        procs = [
            _start(a, env, *deploy_a), _start(b, env, *deploy_b),
            _start(a, env, *retrain), _start(a, env, *retrain),
        ]  # fmt: skip
        outs = [p.communicate(timeout=900) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], (round_, outs)
        for purpose in waited:  # a race, not a queue: some process found the lease held
            waited[purpose] += any(f"waiting for the {purpose} lease" in e for _, e in outs)

        # every decision compared with the champion of its moment, in the order they were
        # taken; every move replaced the version it was compared with
        events = sorted(
            (e for v in client.search_model_versions("name = 'churn'")
             for e in events_of(v.tags) if e.get("at", "") >= started and e["event"] == "decision"),
            key=lambda e: e["at"],
        )  # fmt: skip
        assert {e["version"] for e in events} >= {"2", "3"}, (round_, events)
        champion = "1"
        for event in events:
            assert event["compared_with"] == champion, (round_, events)
            if event["decision"] == "promoted":
                assert event["replaced"] == champion, (round_, events)
                champion = event["version"]
        final = str(client.get_registered_model("churn").aliases["champion"])
        assert final == champion, (round_, events)
        decisions += len(events)

        # the two retrains: one fired, the other saw its cooldown
        verdicts = [json.loads(out) for out, _ in outs[2:]]
        assert sum(v["fired"] for v in verdicts) == 1, (round_, verdicts)
        assert any(v["reason"].startswith("cooldown") for v in verdicts), (round_, verdicts)
        trigger = DeltaTable(str(a / TRIGGER)).to_pandas()
        assert int((trigger["fired"] & ~trigger["dry_run"]).sum()) == 2  # started + result
        fired_rounds.append(round_)
    assert len(fired_rounds) == ROUNDS and decisions >= 2 * ROUNDS
    assert waited["deploy"] >= ROUNDS // 2 and waited["retrain"] >= ROUNDS // 2, waited
    assert not client.search_registered_models("name LIKE '%__lease_%'")
