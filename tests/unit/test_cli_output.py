"""What the CLI prints for a person (#29): monitoring summaries as aligned rows, not a long
JSON line."""

from __future__ import annotations

from mlrecipes.cli.inspect import _readable


def test_drift_and_estimated_performance_print_one_row_each() -> None:
    drift = {
        "gender": {"metric": "js_distance", "value": 0.0010378, "status": "ok"},
        "MonthlyCharges": {"metric": "psi", "value": 0.31, "status": "alert"},
    }
    assert _readable("drift", drift).splitlines() == [
        "  drift:",
        "    gender          js_distance           0.0010  ok",
        "    MonthlyCharges  psi                   0.3100  alert",
    ]
    estimated = {"roc_auc": {"value": 0.87168, "status": "ok"}}
    assert _readable("estimated_performance", estimated).splitlines() == [
        "  estimated_performance:",
        "    roc_auc      0.8717  ok",
    ]
    # anything else stays JSON, on one line
    assert _readable("alerts", []) == "  alerts: []"
    assert _readable("prediction_drift", {"metric": "psi", "value": 0.1, "status": "ok"}) == (
        '  prediction_drift: {"metric": "psi", "value": 0.1, "status": "ok"}'
    )


def test_report_windows_are_told_apart_to_the_second_when_they_share_a_minute() -> None:
    """#29: four windows scored minutes apart all read `2026-12-03 07:02`."""
    from mlrecipes.cards.monitoring_report import window_labels

    monthly = ["2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00"]
    assert list(window_labels(monthly).values()) == ["2026-02-28 00:00", "2026-03-31 00:00"]
    close = ["2026-12-03T07:02:05+00:00", "2026-12-03T07:02:41+00:00", "2026-12-03T07:03:00+00:00"]
    assert list(window_labels(close).values()) == [
        "2026-12-03 07:02:05", "2026-12-03 07:02:41", "2026-12-03 07:03:00",
    ]  # fmt: skip
    same = ["2026-12-03T07:02:05.100000+00:00", "2026-12-03T07:02:05.200000+00:00"]
    assert len(set(window_labels(same).values())) == 2


def test_only_a_plain_run_is_answered_before_click() -> None:
    from mlrecipes.cli.cached import plain_run

    assert plain_run(["run", "--profile", "local"]) == ("local", None)
    assert plain_run(["run", "-p", "local", "-s", "train"]) == ("local", "train")
    assert plain_run(["run", "--step=train", "--profile=dev"]) == ("dev", "train")
    for other in (
        [],
        ["inspect", "--profile", "local"],
        ["run"],  # the profile from MLRECIPES_PROFILE: the full CLI reads it
        ["run", "--profile"],
        ["run", "--profile", "--step"],
        ["run", "--profile", "local", "--profile", "dev"],
        ["run", "--profile", "local", "--var", "A=1"],
        ["run", "--profile", "local", "--help"],
        ["run", "--profile=", "--step", "train"],
        ["run", "--profile", "local", "extra"],
    ):
        assert plain_run(other) is None, other
