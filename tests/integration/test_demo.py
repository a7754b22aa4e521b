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
    """Every statement of the story in docs/tutorials/churn-loop.md, on the real run (#25)."""
    summary = played["summary"]
    months = summary["months"]
    assert len(months) == 6 and months[0]["champion_version"] == "1"
    assert all(m["rows_scored"] == 2000 for m in months)
    assert months[0]["deploy_decision"] == "promoted"
    # 1. a real steady state: the first two months raise no alert of any kind (the monitoring
    # table's, measured performance included), and their measured ROC AUC agrees with the
    # estimate made before the outcomes arrived
    for month in months[:2]:
        assert month["every_alert"] == [], month
        assert abs(month["roc_auc"] - month["estimated_roc_auc"]) <= 0.03, month
    # 2. input drift from the first drifted month (the third), measured performance below the
    # alert line once its outcomes arrive; the trigger fires once, in the fourth month
    drifting = [
        i for i, m in enumerate(months) if any(a.startswith("drift ") for a in m["every_alert"])
    ]
    assert drifting[0] == 2
    assert any(a.startswith("performance: roc_auc") for a in months[2]["every_alert"])
    assert [m["trigger_fired"] for m in months] == [False, False, False, True, False, False]
    decisions = summary["decisions"]
    fired = [d for d in decisions if d["kind"] == "trigger" and d["decision"] == "fired"]
    assert len(fired) == 1 and fired[0]["reason"].startswith("2 of the last 3 windows breached")
    # 4. the release: approved in prod, the champion from the fifth month, confirmed by that
    # month's outcomes against the first champion on the same rows; the last month estimated
    approvals = [d for d in decisions if d["kind"] == "approval"]
    assert [d["decision"] for d in approvals].count("promoted") == 2  # first champion, release
    refused = [d for d in decisions if d["decision"] in ("rejected", "kept")]
    assert refused and refused[0]["profile"] == "prod"  # the trigger's own retrain
    assert any(d["profile"] == "staging" and d["by"] == "ci-staging" for d in decisions)
    assert [m["champion_version"] for m in months][3:] == ["1", "3", "3"]
    assert months[-1]["roc_auc"] is None and months[-1]["estimated_roc_auc"] is not None
    assert all(m["roc_auc"] is not None for m in months[:-1])
    better = summary["comparison"]
    assert better["month"] == months[4]["month"] and better["champion_version"] == "3"
    assert better["roc_auc"] > better["first_champion_roc_auc"] + 0.02, better


def test_the_triggers_reason_is_the_monitoring_tables(played: dict) -> None:
    from deltalake import DeltaTable

    summary = played["summary"]
    table = DeltaTable(str(played["out"] / "work/data/monitoring/churn_prod")).to_pandas()
    alerts = table[table["status"] == "alert"]
    [fired] = [
        d for d in summary["decisions"] if d["kind"] == "trigger" and d["decision"] == "fired"
    ]
    month = next(m for m in summary["months"] if m["month"] == fired["month"])
    considered = [
        m["scored_at"] for m in summary["months"] if m["scored_at"] <= month["scored_at"]
    ][-3:]
    said = fired["reason"].split(": ", 1)[1].split("; ")
    for reason in said:
        kind, *column, metric = reason.split()
        found = alerts[(alerts["kind"] == kind) & (alerts["metric"] == metric)
                       & (alerts["column"].fillna("") == (column[0] if column else ""))
                       & alerts["window"].isin(considered)]  # fmt: skip
        assert len(found), reason
    breached = {w for w in alerts["window"] if w in considered}
    assert f"{len(breached)} of the last 3 windows breached" in fired["reason"]


def test_the_reports_sentences_are_the_runs_numbers(played: dict) -> None:
    import html

    summary = played["summary"]
    report = (played["out"] / "report.html").read_text()
    months = summary["months"]
    steady = ", ".join(
        f"{m['month']} {m['roc_auc']:.3f} (estimated {m['estimated_roc_auc']:.3f}, 90% interval "
        f"{m['estimated_interval'][0]:.3f}-{m['estimated_interval'][1]:.3f}, measured inside it)"
        for m in months[:2]
    )
    # the estimate's interval holds the steady months' measurements and not the drifted months'
    # (a change in how inputs relate to churn, which no label-free estimate sees), no caveat
    for m in months[:2]:
        assert m["estimated_interval"][0] <= m["roc_auc"] <= m["estimated_interval"][1]
    for m in months[2:4]:
        assert m["roc_auc"] < m["estimated_interval"][0]
    assert all(m["estimate_caveats"] == [] for m in months)
    better = summary["comparison"]
    for sentence in (
        f"Steady state: 2 month(s) without any alert; ROC AUC measured once the outcomes "
        f"arrived: {steady}.",
        f"Input drift from {months[2]['month']}:",
        f"The retraining trigger fired 1 time(s), first in {months[3]['month']}:",
        f"A new champion, v3, scored from {months[4]['month']} (the first champion was v1).",
        f"champion v3 measured ROC AUC {better['roc_auc']:.3f}; the first champion, v1, scores "
        f"{better['first_champion_roc_auc']:.3f} on the same rows.",
        f"Estimated only (outcomes not yet in): {months[5]['month']};",
    ):
        assert html.escape(sentence) in report, sentence


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
        assert opened.page.locator("text=approved by the release identity").count() >= 1
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
