"""The demo report's story sentences come from the summary's numbers (demo/claims.py, #25)."""

from __future__ import annotations

from mlrecipes.demo.claims import story_claims


def month(name: str, version: str, alerts: list[str], measured, estimated, **extra) -> dict:
    return {"month": name, "champion_version": version, "alerts": alerts, "roc_auc": measured,
            "estimated_roc_auc": estimated, **extra}  # fmt: skip


SUMMARY = {
    "months": [
        month("2026-01", "1", [], 0.8519, 0.8545),
        month("2026-02", "1", [], 0.8511, 0.8510),
        month("2026-03", "1", ["drift MonthlyCharges: psi 0.476"], 0.80, 0.84,
              every_alert=["drift MonthlyCharges: psi 0.476", "performance: roc_auc 0.800"]),
        month("2026-04", "1", ["drift charge_ratio: psi 0.753"], 0.79, 0.83),
        month("2026-05", "3", [], 0.861, 0.85),
        month("2026-06", "3", [], None, 0.85),
    ],
    "decisions": [
        {"month": "2026-03", "kind": "trigger", "decision": "quiet", "reason": "1 of 3"},
        {"month": "2026-04", "kind": "trigger", "decision": "fired",
         "reason": "2 of the last 3 windows breached: drift MonthlyCharges psi"},
    ],
    "comparison": {"month": "2026-05", "champion_version": "3", "roc_auc": 0.861,
                   "first_champion_version": "1", "first_champion_roc_auc": 0.792},
}  # fmt: skip


def test_each_sentence_states_the_summarys_numbers() -> None:
    claims = story_claims(SUMMARY)
    assert claims == [
        "Steady state: 2 month(s) without any alert; ROC AUC measured once the outcomes arrived: "
        "2026-01 0.852 (estimated 0.855), 2026-02 0.851 (estimated 0.851).",
        "Input drift from 2026-03: MonthlyCharges.",
        "The retraining trigger fired 1 time(s), first in 2026-04: 2 of the last 3 windows "
        "breached: drift MonthlyCharges psi.",
        "A new champion, v3, scored from 2026-05 (the first champion was v1).",
        "On 2026-05's outcomes, champion v3 measured ROC AUC 0.861; the first champion, v1, "
        "scores 0.792 on the same rows.",
        "Estimated only (outcomes not yet in): 2026-06; a month's outcomes arrive with the next "
        "month's snapshot.",
    ]


def test_a_late_measured_alert_ends_the_steady_state_and_nothing_is_assumed() -> None:
    late = {
        "months": [
            month("2026-01", "1", [], 0.74, 0.93, every_alert=["performance: roc_auc 0.738"]),
            month("2026-02", "1", [], None, 0.9),
        ],
        "decisions": [],
        "comparison": None,
    }
    claims = story_claims(late)
    assert claims[0] == "No steady state: the first month already has an alert."
    assert "The retraining trigger never fired." in claims
    assert "The first champion, v1, scored every month." in claims
    assert not any(c.startswith("Input drift") or c.startswith("On ") for c in claims)
