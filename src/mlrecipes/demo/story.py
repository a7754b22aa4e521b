"""``make demo`` (``mlrecipes demo play``): the seed's demo, month by month, on real local servers.

A basic-auth MLflow tracking server on a free 127.0.0.1 port with a temporary store; access.yaml
applied by its admin; a working copy of the template (a git repository: the data scientist's
change is a commit in it); then the story, through the very commands the jobs run
(``mlrecipes job run ...``), each as the identity that would run it, on six months of customers
whose world changes in the third (``mlrecipes.sample_data.drifted``):

1. months 0-1, the steady state: feature tables, model-train (the first champion, approved by the
   release identity), batch inference, monitoring (quiet, and the outcomes that arrive a month
   later agree with the estimate), the retraining trigger (quiet);
2. from month 2: input drift; the outcomes, a month later, show the drop; the trigger fires
   once, and its retrain (on every snapshot, most from the old world) is decided by deploy;
3. the data scientist's change: train on the outcomes recorded since the change
   (``TRAINING_SNAPSHOTS: 1``), committed, run through the staging profile by CI's identity;
4. the release: the prod identity runs model-train; the challenger becomes champion only if it
   wins on the holdout and is approved; the trigger's model is refused if it waits; inference
   uses the new champion, and the next month's outcomes confirm it against the first champion.

Every process it starts is stopped, whatever happens (Ctrl-C included). It writes
``<out>/report.html`` and ``<out>/summary.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrecipes.errors import DemoError

TEMPLATE_PARTS = (
    "recipe.yaml", "profiles", "steps", "access.yaml", "databricks.yml", "resources",
    "mlrecipes-init.yaml",
)  # fmt: skip
PROD, STAGING = "prod", "staging"
RELEASE, CI, SCIENTIST = "prod-deployer", "ci-staging", "ds-alice"


@dataclass
class Month:
    month: str
    scored_at: str
    champion_version: str | None = None
    rows_scored: int = 0
    alerts: list[str] = field(default_factory=list)
    roc_auc: float | None = None
    estimated_roc_auc: float | None = None
    estimated_interval: list[float] | None = None  # where 90% of measured values fall
    estimate_caveats: list[str] = field(default_factory=list)  # why it is not supported
    trigger_fired: bool = False
    deploy_decision: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Story:
    work: Path
    out: Path
    uri: str
    passwords: dict[str, str]
    say: Any = print
    log: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def env(self, user: str, profile: str) -> dict[str, str]:
        data = self.work / "data" / profile
        return {
            **os.environ,
            "MLFLOW_TRACKING_URI": self.uri,
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": self.passwords[user],
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
            "MLRECIPES_DECIDER": user,
            "CHURN_DATA_LOCATION": str(data / "snapshots"),
            "CHURN_SCORING_KEYS_LOCATION": str(data / "keys.csv"),
        }

    def mlrecipes(self, *args: str, user: str, profile: str) -> str:
        """Run one command as ``user``; its stdout (a failure stops the story)."""
        shown = f"mlrecipes {shlex.join(args)}"
        self.say(f"  [{user}] $ {shown}")
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "mlrecipes", *args], cwd=self.work, env=self.env(user, profile),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        self.log.append({"user": user, "command": shown, "exit": done.returncode,
                         "seconds": round(time.perf_counter() - t0, 1)})  # fmt: skip
        with (self.out / "commands.log").open("a", encoding="utf-8") as out:
            out.write(f"$ [{user}] {shown}\n{done.stderr}{done.stdout}\n")
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise DemoError(f"`{shown}` as {user} failed (exit {done.returncode}): {tail}")
        return done.stdout

    def job(self, name: str, profile: str, user: str, at: str | None = None) -> None:
        extra = ("--at", at) if at else ()
        self.mlrecipes("job", "run", name, "--profile", profile, *extra, user=user, profile=profile)

    def inspect(self, step: str, profile: str = PROD) -> dict[str, Any]:
        out = self.mlrecipes("inspect", "--profile", profile, "--step", step, "--json",
                             user=RELEASE if profile == PROD else CI, profile=profile)  # fmt: skip
        return json.loads(out)

    def decide(self, month: str, by: str, kind: str, profile: str = PROD) -> dict[str, Any]:
        """The deploy decision just made, recorded; a pending one is approved or refused."""
        deploy = self.inspect("deploy", profile)
        entry = {
            "month": month, "profile": profile, "kind": kind, "by": by,
            "version": str(deploy.get("challenger_version")),
            "decision": deploy.get("decision"), "reason": deploy.get("reason"),
        }  # fmt: skip
        self.decisions.append(entry)
        return entry


# the outcomes recorded since the world changed: one snapshot when the trigger fires
RECENT_TRAINING = (
    "\n# the data scientist: train on the outcomes recorded since the billing change\n"
    "TRAINING_SNAPSHOTS: 1\n"
)


def _copy_template(source: Path, work: Path) -> None:
    work.mkdir(parents=True)
    for part in TEMPLATE_PARTS:
        src = source / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / part)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "the churn project at steady state")


def _git(work: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
           "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@localhost"}  # fmt: skip
    subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)


def _write_month(work: Path, profile: str, frame: Any) -> None:
    """A snapshot lands in the environment's data root; the keys to score are its customers."""
    data = work / "data" / profile
    (data / "snapshots").mkdir(parents=True, exist_ok=True)
    date = str(frame["snapshot_date"].iloc[0])
    frame.to_csv(data / "snapshots" / f"telco_{date[:7]}.csv", index=False)
    frame[["customerID"]].to_csv(data / "keys.csv", index=False)


def play(source: Path, out: Path, customers: int = 2000, months: int = 6, say: Any = print) -> dict:
    """The whole story; returns the summary (also written to ``out``)."""
    from mlrecipes.demo.report import final_alerts, measured_per_window, write_report
    from mlrecipes.demo.servers import basic_auth_server
    from mlrecipes.sample_data.drifted import drifted_months

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    work = out / "work"
    _copy_template(source, work)
    passwords = {name: secrets.token_urlsafe(18) for name in ("admin", RELEASE, CI, SCIENTIST)}
    frames = drifted_months(customers, months)
    t0 = time.perf_counter()
    with basic_auth_server(out / "server", passwords["admin"], secrets.token_hex(16)) as uri:
        say(f"MLflow (basic auth) at {uri}; working copy {work}")
        story = Story(work, out, uri, passwords, say)
        _apply_access(story)
        summary = _months(story, frames)
        summary["tracking_uri"] = uri
        monitoring = work / "data" / "monitoring" / "churn_prod"
        table = measured_per_window(monitoring)
        every_alert, lines = final_alerts(monitoring)
        for month in summary["months"]:
            found = table.get(month["scored_at"], {})
            month["roc_auc"] = found.get("roc_auc")
            month["estimated_roc_auc"] = found.get("estimated")
            month["estimated_interval"] = found.get("estimated_interval")
            month["estimate_caveats"] = found.get("estimate_caveats", [])
            # as the monitoring table holds them at the end: late-measured performance included
            month["every_alert"] = every_alert.get(month["scored_at"], [])
            month["alert_line"] = lines.get(month["scored_at"])
        summary["comparison"] = _compare(story, summary["months"])
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["commands"] = story.log
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    write_report(summary, work, out / "report.html")
    return summary


def _apply_access(story: Story) -> None:
    admin_env = {
        "MLRECIPES_PASSWORD_DS_ALICE": story.passwords[SCIENTIST],
        "MLRECIPES_PASSWORD_CI_STAGING": story.passwords[CI],
        "MLRECIPES_PASSWORD_PROD_DEPLOYER": story.passwords[RELEASE],
    }
    saved = {k: os.environ.get(k) for k in admin_env}
    os.environ.update(admin_env)
    try:
        story.mlrecipes("access", "apply", "--tracking-uri", story.uri, user="admin", profile=PROD)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def _months(story: Story, frames: list[Any]) -> dict[str, Any]:
    months: list[Month] = []
    fired_once = False
    for index, frame in enumerate(frames):
        date = str(frame["snapshot_date"].iloc[0])
        month = Month(month=date[:7], scored_at=f"{date}T00:00:00+00:00")
        story.say(f"== {month.month}")
        _write_month(story.work, PROD, frame)
        story.job("feature-table-creation", PROD, RELEASE)
        if index == 0:  # steady state: the first champion, released and approved
            story.job("model-train", PROD, RELEASE)
            month.deploy_decision = _release(story, month.month, "first model")
        story.job("model-inference-batch", PROD, RELEASE, at=f"{date}T00:00:00")
        story.job("monitoring", PROD, RELEASE)
        predict, window = story.inspect("predict"), story.inspect("monitor")
        month.champion_version = str(predict.get("model_version"))
        month.rows_scored = int(predict.get("rows_scored") or 0)
        month.alerts = list(window.get("alerts") or [])
        trigger = json.loads(
            story.mlrecipes("retrain", "--profile", PROD, "--json", user=RELEASE, profile=PROD)
        )
        month.trigger_fired = bool(trigger["fired"])
        story.decisions.append({"month": month.month, "profile": PROD, "kind": "trigger",
                                "by": RELEASE, "decision": "fired" if trigger["fired"] else "quiet",
                                "reason": trigger["reason"], "version": None})  # fmt: skip
        if trigger["fired"] and not fired_once:
            fired_once = True
            month.deploy_decision = _after_firing(story, month.month, trigger, frames[: index + 1])
        months.append(month)
    return {"months": [m.as_dict() for m in months], "decisions": story.decisions}


def _compare(story: Story, months: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last month whose labels arrived, scored again by the first champion: does the current
    champion score it better than the first one would have?"""
    from mlrecipes.demo.comparison import auc_of_version

    labelled = [m for m in months if m["roc_auc"] is not None]
    first = months[0]["champion_version"]
    if not labelled or labelled[-1]["champion_version"] == first:
        return None
    last = labelled[-1]
    return {
        "month": last["month"],
        "champion_version": last["champion_version"],
        "roc_auc": last["roc_auc"],
        "first_champion_version": first,
        "first_champion_roc_auc": auc_of_version(
            story.work, PROD, story.env(RELEASE, PROD), first, last["scored_at"]
        ),
    }


def _release(story: Story, month: str, why: str) -> str:
    """The deploy decision of the model-train just run; a pending one is approved by the release
    identity (prod approves by hand)."""
    decided = story.decide(month, RELEASE, f"deploy ({why})")
    if decided["decision"] == "pending_approval":
        story.mlrecipes("approve", "--profile", PROD, "--version", decided["version"],
                        user=RELEASE, profile=PROD)  # fmt: skip
        story.decisions.append({**decided, "kind": "approval", "decision": "promoted",
                                "reason": "approved by the release identity"})  # fmt: skip
        return "promoted"
    return str(decided["decision"])


def _after_firing(story: Story, month: str, trigger: dict, seen: list[Any]) -> str:
    """The trigger's retrain waits for approval; the data scientist's fix goes through staging
    (CI) and is released; the trigger's model is refused in its favour."""
    deploy = trigger.get("deploy") or {}
    version = str(deploy.get("challenger_version"))
    story.decisions.append({"month": month, "profile": PROD, "kind": "deploy (trigger retrain)",
                            "by": RELEASE, "version": version, "decision": deploy.get("decision"),
                            "reason": deploy.get("reason")})  # fmt: skip
    # the data scientist: train on the outcomes recorded since the change only (the older ones
    # teach the old churn drivers, and a holdout of them cannot show the new ones)
    for profile in (STAGING, PROD):
        path = story.work / "profiles" / f"{profile}.yaml"
        path.write_text(path.read_text() + RECENT_TRAINING, encoding="utf-8")
    _git(story.work, "commit", "-q", "-am", "train on the outcomes since the billing change")
    story.say("  the data scientist commits TRAINING_SNAPSHOTS: 1 (train on the newest "
              "snapshot's outcomes only); CI runs staging")  # fmt: skip
    for frame in seen:
        _write_month(story.work, STAGING, frame)
    story.job("feature-table-creation", STAGING, CI)
    story.job("model-train", STAGING, CI)
    story.decide(month, CI, "deploy (CI, staging)", STAGING)
    if deploy.get("decision") == "pending_approval":
        reason = "superseded by the data scientist's release"
        story.mlrecipes("reject", "--profile", PROD, "--version", version, "--reason", reason,
                        user=RELEASE, profile=PROD)  # fmt: skip
        story.decisions.append({"month": month, "profile": PROD, "kind": "approval", "by": RELEASE,
                                "version": version, "decision": "rejected", "reason": reason})  # fmt: skip
    story.say("  the release: model-train in prod with the new code")
    story.job("model-train", PROD, RELEASE)
    return _release(story, month, "release")
