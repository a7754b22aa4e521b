"""`mlrecipes demo play` (what `make demo` runs): the seed's story on a real basic-auth MLflow
server, checked from summary.json, and its report in the real browser."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import REPO, cli
from tests.integration.test_card_in_browser import not_blank
from tests.report_browser import CHROMIUM, opened_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = cli("demo", "play", "--out", str(out), cwd=REPO, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    return {"out": out, "summary": summary, "stdout": result.stdout}


def test_the_story_has_its_shape(played: dict) -> None:
    summary = played["summary"]
    months = summary["months"]
    assert len(months) == 5 and months[0]["champion_version"] == "1"
    assert all(m["rows_scored"] == 2000 for m in months)
    assert months[0]["alerts"] == [] and months[0]["deploy_decision"] == "promoted"
    assert months[1]["alerts"] and months[2]["alerts"]  # the drift months
    assert [m["trigger_fired"] for m in months].count(True) == 1  # one episode, one firing
    fired = next(i for i, m in enumerate(months) if m["trigger_fired"])
    assert fired >= 2 and months[fired]["deploy_decision"] == "promoted"
    assert months[-1]["champion_version"] not in ("1", months[0]["champion_version"])
    decisions = summary["decisions"]
    approvals = [d for d in decisions if d["kind"] == "approval"]
    assert [d["decision"] for d in approvals].count("promoted") == 2  # first champion, release
    refused = [d for d in decisions if d["decision"] in ("rejected", "kept")]
    assert refused and refused[0]["profile"] == "prod"
    assert any(d["profile"] == "staging" and d["by"] == "ci-staging" for d in decisions)
    # labels arrive a month later: the last month is estimated only, earlier ones measured
    assert months[-1]["roc_auc"] is None and months[-1]["estimated_roc_auc"] is not None
    assert all(m["roc_auc"] is not None for m in months[:-1])
    better = summary["comparison"]
    assert better["roc_auc"] > better["first_champion_roc_auc"] + 0.02, better


def test_every_process_it_started_is_gone(played: dict) -> None:
    address = urlparse(played["summary"]["tracking_uri"])
    with pytest.raises(OSError), socket.create_connection((address.hostname, address.port), 2):
        pass
    assert "report:" in played["stdout"]


def test_its_commands_are_the_jobs_commands_a_user_can_run(played: dict) -> None:
    commands = [c["command"] for c in played["summary"]["commands"]]
    assert "mlrecipes job run model-train --profile prod" in commands
    assert "mlrecipes job run model-train --profile staging" in commands
    assert any(
        c.startswith("mlrecipes job run model-inference-batch --profile prod --at")
        for c in commands
    )
    assert "mlrecipes job run monitoring --profile prod" in commands
    assert all(c["exit"] == 0 for c in played["summary"]["commands"])


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_the_report_opens_with_its_plots_and_no_network(played: dict) -> None:
    with opened_report(played["out"] / "report.html", "demo_report.png") as opened:
        images = opened.loaded_images(3)
        assert opened.page.locator("text=superseded by the data scientist").count() >= 1
        # each window named to the second, as the monitoring table names it (#25)
        for month in played["summary"]["months"]:
            stamp = month["scored_at"].replace("T", " ").replace("+00:00", " UTC")
            assert opened.page.locator(f"text={stamp}").count() == 1, stamp
        assert opened.page.locator("text=Step cards, as the demo left them").count() == 1
        links = opened.page.locator("a").evaluate_all("links => links.map(a => a.href)")
        colours, ink = not_blank(images.nth(1).screenshot())
    assert opened.problems == []
    assert all(url.startswith(("file:", "data:")) for url in opened.requests), opened.requests
    assert colours > 5 and ink > 0.02
    assert len(links) >= 10
    assert all(Path(urlparse(link).path).is_file() for link in links)


def test_the_report_shows_every_alert_and_each_months_own_alert_line(played: dict) -> None:
    """#25: the timeline listed drift alerts only (the performance alerts a month's labels
    raised later were missing), and the chart drew one alert line, another model's."""
    import html
    import re

    from deltalake import DeltaTable

    report = (played["out"] / "report.html").read_text()
    table = DeltaTable(str(played["out"] / "work/data/monitoring/churn_prod")).to_pandas()
    alerts = table[table["status"] == "alert"]
    assert (alerts["kind"] == "performance").any()  # labels did raise alerts in this story
    for row in alerts.itertuples():
        where = f" {row.column}" if row.column else ""
        assert html.escape(f"{row.kind}{where}: {row.metric} {row.value:.3f}") in report
    lines = table[(table["metric"] == "roc_auc") & table["threshold"].notna()]
    timeline = report.split("<h2>Timeline</h2>", 1)[1].split("<h2>", 1)[0]
    for month in played["summary"]["months"]:
        [row] = re.findall(rf"<tr><td>{month['month']}</td>(.*?)</tr>", timeline, flags=re.S)
        mine = lines.loc[lines["window"] == month["scored_at"], "threshold"]
        assert f"<td class=num>{mine.iloc[-1]:.3f}</td>" in row  # the serving model's line
    assert lines.groupby("window")["threshold"].last().nunique() > 1  # it steps with the champion
