"""Two checkouts (two CI runners) share one registry and deploy at the same moment (#31): the
registry lease serialises them, so each challenger is compared with the champion of the moment,
and the final champion replaced a version it was compared with."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import cli, copy_template
from tests.integration.test_deploy import WEAK
from tests.integration.test_trust_runs import MLRECIPES

pytestmark = pytest.mark.slow


def test_two_checkouts_deploying_at_once_compare_with_the_champion_of_the_moment(
    tmp_path: Path,
) -> None:
    shared = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'shared.db'}"}
    a = copy_template(tmp_path / "a", rows=6000)
    b = copy_template(tmp_path / "b", rows=6000)
    first = cli("run", "--profile", "local", "--var", WEAK, cwd=a, env=shared)
    assert first.returncode == 0, first.stderr  # v1: the weak first champion
    for root, params in ((a, "ESTIMATOR_PARAMS={C: 0.2}"), (b, "ESTIMATOR_PARAMS={C: 0.05}")):
        done = cli("run", "--profile", "local", "--step", "register", "--var", params,
                   cwd=root, env=shared)  # fmt: skip
        assert done.returncode == 0, done.stderr
    procs = [
        subprocess.Popen(
            [MLRECIPES, "run", "--profile", "local", "--var", params],
            cwd=root, env={**os.environ, **shared}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for root, params in ((a, "ESTIMATOR_PARAMS={C: 0.2}"), (b, "ESTIMATOR_PARAMS={C: 0.05}"))
    ]  # fmt: skip
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs

    uri = shared["MLFLOW_TRACKING_URI"]
    client = MlflowClient(uri, uri)
    tags = {str(v.version): v.tags for v in client.search_model_versions("name = 'churn'")}
    assert sorted(tags) == ["1", "2", "3"]
    # the decisions in the order they were taken, each against the champion of its moment
    decided = sorted(
        (t["mlrecipes.deploy.decided_at"], v, t.get("mlrecipes.deploy.champion_version"),
         t["mlrecipes.deploy.decision"])
        for v, t in tags.items()
    )  # fmt: skip
    champion = None
    for _, version, compared, decision in decided:
        assert compared == champion, decided  # never a champion it was not compared with
        if decision in ("promoted", "first_champion"):
            champion = version
    final = client.get_registered_model("churn").aliases["champion"]
    assert str(final) == champion
    replaced = tags[str(final)].get("mlrecipes.deploy.replaces") or None
    assert replaced == tags[str(final)].get("mlrecipes.deploy.champion_version")
    assert not client.search_registered_models("name LIKE '%__lease_%'")  # every lease released
