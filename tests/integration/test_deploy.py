"""Champion/challenger scenarios on the churn template, each checked in the registry afterwards.

The first champion is a deliberately weak model (C=1e-4); the template's own parameters then
give a challenger that is better beyond doubt on the same data (deterministic: seeded data,
hash split, deterministic estimator).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import cli, copy_template
from tests.integration.test_trust_runs import MLRECIPES, _client, _state, _wait_for

pytestmark = pytest.mark.slow

WEAK = "ESTIMATOR_PARAMS={C: 0.0001}"
WORSE = "ESTIMATOR_PARAMS={C: 0.00015}"
SAME_AS_DEFAULT = "ESTIMATOR_PARAMS={C: 0.2}"  # the template's C: a new version, equal scores


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    out = cli("run", "--profile", "local", *args, cwd=root)
    assert out.returncode == 0, out.stderr
    return out


def deploy_summary(root: Path) -> dict:
    return _state(root, "deploy")["summary"]


def aliases(root: Path) -> dict[str, str]:
    return {a: str(v) for a, v in _client(root).get_registered_model("churn").aliases.items()}


def tags(root: Path, version: str) -> dict[str, str]:
    return _client(root).get_model_version("churn", version).tags


def history(root: Path) -> list[dict]:
    out = cli("champion", "--profile", "local", "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["history"]


def assert_champion_is_one_validated_version(root: Path) -> str:
    champion = aliases(root).get("champion")
    assert champion is not None
    assert tags(root, champion)["mlrecipes.model_validation_status"] == "VALIDATED"
    return champion


@pytest.fixture
def churn(tmp_path: Path) -> Path:
    return copy_template(tmp_path / "churn", rows=6000)


@pytest.fixture
def weak_champion(churn: Path) -> Path:
    run(churn, "--var", WEAK)
    assert deploy_summary(churn)["decision"] == "first_champion"
    return churn


def test_first_champion_promotion_refusals_and_rollback(weak_champion: Path) -> None:
    root = weak_champion
    assert aliases(root) == {"challenger": "1", "champion": "1"}
    assert tags(root, "1")["mlrecipes.deploy.decision"] == "first_champion"

    run(root)  # the template's parameters: better beyond doubt
    summary = deploy_summary(root)
    assert summary["decision"] == "promoted", summary["reason"]
    assert summary["ci_low"] > 0 and summary["difference"] >= summary["ci_low"]
    assert aliases(root) == {"challenger": "2", "champion": "2", "previous_champion": "1"}
    v2 = tags(root, "2")
    assert v2["mlrecipes.deploy.decision"] == "promoted"
    assert v2["mlrecipes.deploy.metric"] == "roc_auc"
    assert float(v2["mlrecipes.deploy.ci_low"]) > 0
    assert v2["mlrecipes.deploy.champion_version"] == "1"
    assert len(v2["mlrecipes.deploy.holdout"]) == 16 and v2["mlrecipes.deploy.decided_by"]
    assert v2["mlrecipes.deploy.state"] == "done"
    audit = json.loads(tags(root, "1")["mlrecipes.deploy.challenged_by.v2"])
    assert audit["mlrecipes.deploy.decision"] == "promoted"
    assert audit["mlrecipes.deploy.ci_low"] == v2["mlrecipes.deploy.ci_low"]
    assert audit["mlrecipes.deploy.holdout"] == v2["mlrecipes.deploy.holdout"]
    # both models scored through their registered pyfunc on the same holdout
    metrics = summary["metrics"]
    assert set(metrics["champion"]) >= {
        "roc_auc",
        "log_loss",
        "brier_score",
        "precision_recall_auc",
    }
    assert metrics["challenger"]["roc_auc"] == pytest.approx(summary["challenger_score"])

    run(root, "--var", WORSE)
    summary = deploy_summary(root)
    assert summary["decision"] == "kept" and summary["difference"] < 0
    assert "worse than the champion" in summary["reason"]
    assert aliases(root)["champion"] == "2" and aliases(root)["challenger"] == "3"

    run(root, "--var", SAME_AS_DEFAULT)  # a tie: the interval includes 0
    summary = deploy_summary(root)
    assert summary["decision"] == "kept" and "includes 0" in summary["reason"]
    assert summary["difference"] == pytest.approx(0, abs=1e-12)
    assert aliases(root)["champion"] == "2"

    rolled = cli("rollback", "--profile", "local", "--reason", "bad week", cwd=root)
    assert rolled.returncode == 0, rolled.stderr
    assert aliases(root)["champion"] == "1" and aliases(root)["previous_champion"] == "2"
    events = history(root)
    assert [(e["version"], e.get("decision") or e["event"]) for e in events] == [
        ("1", "first_champion"),
        ("2", "promoted"),
        ("3", "kept"),
        ("4", "kept"),
        ("1", "rollback"),
    ]
    assert events[-1]["reason"] == "bad week" and events[-1]["replaced"] == "2"


def test_a_margin_refuses_a_smaller_gain(weak_champion: Path) -> None:
    run(weak_champion, "--var", "DEPLOY_MIN_IMPROVEMENT=0.2")
    summary = deploy_summary(weak_champion)
    assert summary["decision"] == "kept" and "below the required margin 0.2" in summary["reason"]
    assert summary["difference"] > 0
    assert aliases(weak_champion)["champion"] == "1"


def test_manual_approval_approve_and_reject(churn: Path) -> None:
    manual = ("--var", "DEPLOY_APPROVAL=manual")
    run(churn, *manual, "--var", WEAK)
    assert deploy_summary(churn)["decision"] == "pending_approval"
    assert "champion" not in aliases(churn)
    assert tags(churn, "1")["mlrecipes.deploy.decision"] == "pending_approval"

    approved = cli("approve", "--profile", "local", "--version", "1", cwd=churn)
    assert approved.returncode == 0, approved.stderr
    assert aliases(churn)["champion"] == "1"
    assert tags(churn, "1")["mlrecipes.deploy.decision"] == "promoted"
    # an approval without --reason records the evidence it accepted, never an empty reason (#29)
    pending_reason = tags(churn, "1")["mlrecipes.deploy.reason"]
    assert history(churn)[-1]["reason"] == f"no reason given; deploy had said: {pending_reason}"
    shown = cli("champion", "--profile", "local", cwd=churn).stdout
    assert "promoted         by " in shown and "no reason given; deploy had said: " in shown

    run(churn, *manual)
    assert deploy_summary(churn)["decision"] == "pending_approval"
    assert aliases(churn)["champion"] == "1"
    refused = cli("reject", "--profile", "local", "--version", "2", "--reason", "no", cwd=churn)
    assert refused.returncode == 0, refused.stderr
    assert tags(churn, "2")["mlrecipes.deploy.decision"] == "rejected"
    again = cli("approve", "--profile", "local", "--version", "2", cwd=churn)
    assert again.returncode == 1 and "not waiting for approval" in again.stderr
    assert aliases(churn)["champion"] == "1"
    assert [e.get("decision") or e["event"] for e in history(churn)] == [
        "pending_approval",
        "promoted",
        "pending_approval",
        "rejected",
    ]


def test_an_unvalidated_challenger_is_never_champion(churn: Path) -> None:
    recipe = churn / "recipe.yaml"
    text = recipe.read_text()
    start = text.index("    validation_criteria:")
    end = text.index("  register:")
    text = text[:start] + text[end:]
    recipe.write_text(
        text.replace("allow_non_validated_model: false", "allow_non_validated_model: true")
    )
    run(churn)
    summary = deploy_summary(churn)
    assert summary["decision"] == "rejected" and "UNKNOWN" in summary["reason"]
    assert aliases(churn) == {"challenger": "1"}


def test_a_holdout_the_champion_trained_on_is_refused(weak_champion: Path) -> None:
    recipe = weak_champion / "recipe.yaml"
    recipe.write_text(
        recipe.read_text().replace(
            '    key_columns: ["customerID"]\n',
            '    key_columns: ["customerID"]\n'
            '    holdout: {using: csv, location: "data/telco_sample.csv"}\n',
            1,  # the deploy block's (monitor's comes later)
        )
    )
    out = cli("run", "--profile", "local", cwd=weak_champion)
    assert out.returncode == 1
    assert "the holdout is not clean" in out.stderr and "key columns ['customerID']" in out.stderr
    assert aliases(weak_champion) == {"challenger": "2", "champion": "1"}
    assert "mlrecipes.deploy.decision" not in tags(weak_champion, "2")

    # the same customers, spelled otherwise or under new ids, are not a clean holdout (#31, 2)
    import pandas as pd

    sample = pd.read_csv(weak_champion / "data" / "telco_sample.csv")
    spelled = sample.assign(customerID=" " + sample["customerID"].str.lower())
    spelled.to_csv(weak_champion / "data" / "spelled.csv", index=False)
    rekeyed = sample.assign(customerID=[f"NEW-{i:05d}" for i in range(len(sample))])
    rekeyed.to_csv(weak_champion / "data" / "rekeyed.csv", index=False)
    current = "data/telco_sample.csv"
    for name, by in (("spelled", "compared trimmed and lower-cased"), ("rekeyed", "content")):
        recipe.write_text(recipe.read_text().replace(current, f"data/{name}.csv"))
        current = f"data/{name}.csv"
        out = cli("run", "--profile", "local", cwd=weak_champion)
        assert out.returncode == 1, name
        assert "the holdout is not clean" in out.stderr and by in out.stderr, out.stderr
        assert aliases(weak_champion) == {"challenger": "2", "champion": "1"}
    recipe.write_text(recipe.read_text().replace(current, "data/telco_sample.csv"))

    # a labelled dataset neither model saw (here: the test split's customers) is accepted

    test = pd.read_parquet(weak_champion / ".mlrecipes/local/steps/split/outputs/test.parquet")
    test.to_csv(weak_champion / "data" / "holdout.csv", index=False)
    recipe.write_text(recipe.read_text().replace('data/telco_sample.csv"}', 'data/holdout.csv"}'))
    run(weak_champion)
    summary = deploy_summary(weak_champion)
    assert summary["holdout"]["rows"] == len(test) and summary["decision"] == "promoted"
    assert aliases(weak_champion)["champion"] == "2"


def _champion_in_db(root: Path) -> str | None:
    db = root / "metadata" / "mlflow" / "mlruns.db"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as con:
            row = con.execute(
                "select version from registered_model_aliases where alias = 'champion'"
            ).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_an_interrupted_deploy_leaves_the_old_or_the_new_champion(
    weak_champion: Path, how: str
) -> None:
    """Interrupt deploy at several points, the alias move included; the champion is always
    one VALIDATED version, the old or the new, and the next run completes the story."""
    root = weak_champion
    run(root, "--step", "register")  # the challenger, v2
    client = _client(root)
    for delay in (None, 0.2, 0.8):  # right after the move, early, late
        client.set_registered_model_alias("churn", "champion", "1")
        if "previous_champion" in aliases(root):
            client.delete_registered_model_alias("churn", "previous_champion")
        assert cli("clean", "--profile", "local", "--step", "deploy", cwd=root).returncode == 0
        proc = subprocess.Popen(
            [MLRECIPES, "run", "--profile", "local"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        if delay is None:  # right after the alias moved, before the journal is complete
            _wait_for(lambda: _champion_in_db(root) == "2", proc, "the alias move", 180)
        else:
            _wait_for(lambda: _state(root, "deploy").get("status") == "RUNNING", proc, "deploy")
            time.sleep(delay)
        if how == "kill -9":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
        assert assert_champion_is_one_validated_version(root) in ("1", "2")

        again = cli("run", "--profile", "local", cwd=root)
        assert again.returncode == 0, again.stderr
        assert aliases(root) == {"challenger": "2", "champion": "2", "previous_champion": "1"}
        assert tags(root, "2")["mlrecipes.deploy.state"] == "done"
        assert deploy_summary(root)["decision"] in ("promoted", "kept")


def test_two_deploys_at_once_one_decides(weak_champion: Path) -> None:
    root = weak_champion
    run(root, "--step", "register")
    procs = [
        subprocess.Popen(
            [MLRECIPES, "run", "--profile", "local"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    decisions = [e for e in history(root) if e["version"] == "2"]
    assert [e["decision"] for e in decisions] == ["promoted"]
    assert sum("✓ deploy" in err for _, err in outputs) == 1
    assert aliases(root) == {"challenger": "2", "champion": "2", "previous_champion": "1"}
