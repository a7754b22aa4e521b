"""The loop under hand edits, refusals and kills (#31): scoring never uses a version nobody
approved, a rollback is remembered, an interrupted approval completes as an approval, and bad
input to the deploy commands is one line. Each scenario is checked in the registry."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import cli, copy_template
from tests.integration.test_deploy import WEAK, aliases, deploy_summary, history, run, tags
from tests.integration.test_trust_runs import _client

pytestmark = pytest.mark.slow
SCORES = "data/scores/churn_local"


def predict(root: Path, *args: str):
    return cli("run", "--profile", "local", "--step", "predict", *args, cwd=root)


@pytest.fixture
def churn(tmp_path: Path) -> Path:
    return copy_template(tmp_path / "churn", rows=6000)


def test_a_champion_deleted_by_hand_is_said_and_nothing_unchosen_scores(churn: Path) -> None:
    run(churn)  # v1: the template's model, first champion
    run(churn, "--var", WEAK)  # v2: worse, kept out
    assert deploy_summary(churn)["decision"] == "kept"
    assert aliases(churn) == {"champion": "1", "challenger": "2"}
    _client(churn).delete_model_version("churn", "1")  # a hand edit in the registry

    again = run(churn, "--var", WEAK)  # nothing changed but the registry
    assert "deploy          running (the champion v1 deploy left is no longer in the registry)" in again.stderr  # fmt: skip
    assert "cached: ingest, split, transform, train, evaluate, register" in again.stdout
    assert "the champion v1 the last decision left is gone from the registry" in again.stderr
    summary = deploy_summary(churn)
    assert summary["decision"] == "pending_approval" and "deleted by hand" in summary["reason"]
    assert "champion" not in aliases(churn)  # the worse model was not promoted by itself
    assert "champion (kept)" not in again.stdout

    refused = predict(churn)
    assert refused.returncode == 1
    line = refused.stderr.strip().splitlines()[-1]
    assert "the champion v1 the last decision left is gone from the registry" in line
    assert "waiting for approval: v2 (mlrecipes approve --version N)" in line
    assert not (churn / SCORES).exists()


def test_manual_approval_scores_only_an_approved_champion(churn: Path) -> None:
    manual = ("--var", "DEPLOY_APPROVAL=manual")
    run(churn, *manual)
    assert deploy_summary(churn)["decision"] == "pending_approval"
    refused = predict(churn, *manual)
    assert refused.returncode == 1
    assert "there is no champion" in refused.stderr and "waiting for approval: v1" in refused.stderr
    assert not (churn / SCORES).exists()
    rejected = cli("reject", "--profile", "local", "--version", "1", "--reason", "no", cwd=churn)
    assert rejected.returncode == 0, rejected.stderr
    assert predict(churn, *manual).returncode == 1  # the rejected version never scores
    assert not (churn / SCORES).exists()


def test_a_rolled_back_version_needs_an_approval_that_cites_the_rollback(churn: Path) -> None:
    run(churn, "--var", WEAK)  # v1 first champion
    run(churn)  # v2 promoted: better beyond doubt
    assert aliases(churn)["champion"] == "2"
    rolled = cli("rollback", "--profile", "local", "--reason", "bad week", cwd=churn)
    assert rolled.returncode == 0, rolled.stderr
    mark = json.loads(tags(churn, "2")["mlrecipes.deploy.rolled_back"])
    assert (mark["reason"], mark["to"]) == ("bad week", "1")

    again = run(churn)  # same evidence: deploy decides again, and remembers
    summary = deploy_summary(churn)
    assert summary["decision"] == "pending_approval"
    assert "was rolled back" in summary["reason"] and "bad week" in summary["reason"]
    assert aliases(churn)["champion"] == "1"
    assert "is not promoted by itself" in again.stderr

    bare = cli("approve", "--profile", "local", "--version", "2", cwd=churn)
    assert bare.returncode == 1 and "needs --reason" in bare.stderr and "bad week" in bare.stderr
    assert len(bare.stderr.strip().splitlines()) == 1
    assert aliases(churn)["champion"] == "1"
    cited = cli("approve", "--profile", "local", "--version", "2", "--reason", "data fixed",
                cwd=churn)  # fmt: skip
    assert cited.returncode == 0, cited.stderr
    assert aliases(churn)["champion"] == "2"
    event = history(churn)[-1]
    assert event["event"] == "approved" and event["reason"] == "data fixed"
    assert event["overrides_rollback"]["reason"] == "bad week"
    assert "mlrecipes.deploy.rolled_back" not in tags(churn, "2")


def test_an_approval_killed_after_the_move_completes_as_an_approval(churn: Path) -> None:
    manual = ("--var", "DEPLOY_APPROVAL=manual")
    run(churn, *manual)
    killed = cli("approve", "--profile", "local", "--version", "1", cwd=churn,
                 env={"MLRECIPES_FAULT_POINT": "deploy.after_alias"})  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert aliases(churn)["champion"] == "1"  # the move happened, the record did not
    assert tags(churn, "1")["mlrecipes.deploy.decision"] == "pending_approval"

    refused = cli("reject", "--profile", "local", "--version", "1", "--reason", "x", cwd=churn)
    assert refused.returncode == 1
    assert "completed the interrupted promotion of version 1" in refused.stderr
    assert "not waiting for approval (its decision is promoted)" in refused.stderr
    assert tags(churn, "1")["mlrecipes.deploy.decision"] == "promoted"
    assert tags(churn, "1")["mlrecipes.deploy.state"] == "done"
    assert [e.get("decision") or e["event"] for e in history(churn)] == [
        "pending_approval",
        "promoted",
    ]
    assert predict(churn, *manual).returncode == 0


def test_an_approval_killed_before_the_move_is_abandoned(churn: Path) -> None:
    manual = ("--var", "DEPLOY_APPROVAL=manual")
    run(churn, *manual)
    killed = cli("approve", "--profile", "local", "--version", "1", cwd=churn,
                 env={"MLRECIPES_FAULT_POINT": "deploy.before_alias"})  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert tags(churn, "1")["mlrecipes.deploy.state"] == "moving"  # the journal entry, no move
    assert cli("champion", "--profile", "local", cwd=churn).returncode == 0
    assert tags(churn, "1")["mlrecipes.deploy.state"] == "abandoned"
    assert "champion" not in aliases(churn)
    assert tags(churn, "1")["mlrecipes.deploy.decision"] == "pending_approval"
    approved = cli("approve", "--profile", "local", "--version", "1", cwd=churn)
    assert approved.returncode == 0, approved.stderr
    assert aliases(churn)["champion"] == "1"


def test_bad_versions_and_profiles_are_one_line(churn: Path) -> None:
    run(churn, "--var", "DEPLOY_APPROVAL=manual")
    missing = cli("approve", "--profile", "local", "--version", "999", cwd=churn)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: churn has no version 999 (its versions: 1)"
    for bad in ("abc", "0", "-1"):
        out = cli("approve", "--profile", "local", "--version", bad, cwd=churn)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert "Invalid value for '--version'" in out.stderr
    job = cli("job", "run", "model-train", "--profile", "../prod", cwd=churn)
    assert job.returncode != 0 and "Traceback" not in job.stderr
    assert "a profile name may only hold letters, digits" in job.stderr


class _NaNScores:
    """A real pyfunc whose positive-class scores are NaN for every row."""

    @staticmethod
    def model() -> object:
        import mlflow.pyfunc
        import numpy as np
        import pandas as pd

        class NaNModel(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                rows = len(model_input)
                return pd.DataFrame({"label": ["Yes"] * rows, "score_Yes": [np.nan] * rows})

        return NaNModel()


def test_a_challenger_whose_scores_hold_nan_is_named(tmp_path: Path) -> None:
    from mlrecipes.errors import DatasetError
    from mlrecipes.execution.context import load_recipe
    from mlrecipes.steps._deploy_scoring import _score
    from tests.integration.test_trust_tracking import _tracker

    root = copy_template(tmp_path / "churn", rows=300)
    config = load_recipe(root, "local", {}).config
    tracker = _tracker(tmp_path, "nan")
    with tracker.run(run_name="nan"):
        model_uri, _ = tracker.log_pyfunc_model(_NaNScores.model(), "model", None, [], [], None)
    assert tracker.register(model_uri, "m", {}) == "1"
    import pandas as pd

    holdout = pd.read_csv(root / "data" / "telco_sample.csv").head(40)
    with pytest.raises(DatasetError) as caught:
        _score(tracker, config, "m", "1", holdout)
    assert str(caught.value).startswith("version 1 of m returned NaN scores for 40 of 40 holdout")


def test_a_rollback_killed_mid_move_completes_or_is_abandoned_whole(churn: Path) -> None:
    """The rollback's move and its mark on the version rolled back from are one journaled unit:
    killed after the alias moved, the next command completes both (the mark keeps a later
    deploy from promoting that version by itself); killed before, nothing moved."""
    run(churn, "--var", WEAK)  # v1 first champion
    run(churn)  # v2 promoted
    assert aliases(churn) == {"champion": "2", "challenger": "2", "previous_champion": "1"}
    rollback = ("rollback", "--profile", "local", "--reason", "bad week")
    before = cli(*rollback, cwd=churn, env={"MLRECIPES_FAULT_POINT": "deploy.before_alias"})
    assert before.returncode == -signal.SIGKILL
    assert aliases(churn)["champion"] == "2"  # nothing moved
    assert tags(churn, "1")["mlrecipes.deploy.state"] == "moving"  # the journal entry
    assert cli("champion", "--profile", "local", cwd=churn).returncode == 0
    assert tags(churn, "1")["mlrecipes.deploy.state"] == "abandoned"
    assert "mlrecipes.deploy.rolled_back" not in tags(churn, "2")

    after = cli(*rollback, cwd=churn, env={"MLRECIPES_FAULT_POINT": "deploy.after_alias"})
    assert after.returncode == -signal.SIGKILL
    assert aliases(churn)["champion"] == "1"  # moved; the mark and the event not yet written
    assert "mlrecipes.deploy.rolled_back" not in tags(churn, "2")
    again = run(churn)  # the next ordinary command: the scheduled training run
    assert "completed the interrupted promotion of version 1 of churn" in again.stderr
    assert json.loads(tags(churn, "2")["mlrecipes.deploy.rolled_back"])["reason"] == "bad week"
    assert aliases(churn)["champion"] == "1" and aliases(churn)["previous_champion"] == "2"
    assert [e["event"] for e in history(churn)].count("rollback") == 1
    assert "was rolled back" in deploy_summary(churn)["reason"]  # not promoted again by itself
