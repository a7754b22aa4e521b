"""When retraining fires (pure): ``k`` of the last ``n`` windows breached (hysteresis, so one bad
window does not retrain and a recovery stops it), not again until a window scored by a model
trained after the last retrain exists (cooldown), and at most ``max_per_day`` times a day.

One clock: the windows' own scoring times. A retrain is placed at the newest window it saw, and
"a day" is measured between window times, never against the wall clock of the evaluation: a
window back-filled with ``--at`` after a retrain counts as what it is (a window newer than the
ones the retrain answered), and a replayed history (the demo's months) decides as it happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Window:
    window: str  # its id (the scoring time)
    scored_at: datetime
    model_version: str | None
    breached: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Firing:
    version: str | None  # the model a retrain produced (None while unknown)
    at: datetime  # on the window clock: the newest window the firing evaluation saw
    finished: bool = True  # False: it started and never recorded a result (the process died)


@dataclass(frozen=True)
class Verdict:
    fired: bool
    reason: str
    windows: tuple[Window, ...]


def decide(
    windows: list[Window],
    firings: list[Firing],
    k: int = 2,
    n: int = 3,
    max_per_day: int = 1,
) -> Verdict:
    """Whether to retrain now, and why (said whether it fires or not).

    Only windows scored after the last retrain count (cooldown): the windows that made it fire
    never make it fire again, so one drift episode retrains once. A retrain that started and
    never finished retrained nothing: it starts no cooldown (the trigger fires again, and says
    so), but it counts against the daily cap, measured back from the newest window."""
    if not 1 <= k <= n:
        raise ValueError(f"the trigger needs 1 <= k <= n, got k={k}, n={n}")
    ordered = sorted(windows, key=lambda w: w.scored_at)
    finished = [f for f in firings if f.finished]
    last = max(finished, key=lambda f: f.at) if finished else None
    unfinished = [f for f in firings if not f.finished and (last is None or f.at > last.at)]
    counted = [w for w in ordered if last is None or w.scored_at > last.at]
    recent = tuple(counted[-n:])
    since = f" since the retrain at window {last.at.isoformat()}" if last else ""
    if last is not None and not counted:
        return Verdict(
            False, f"cooldown: no window has been scored{since} (its model must be seen first)", ()
        )
    if len(recent) < n:
        return Verdict(
            False, f"{len(recent)} window(s){since}; the rule looks at the last {n}", recent
        )
    breached = [w for w in recent if w.breached]
    if len(breached) < k:
        return Verdict(
            False,
            f"{len(breached)} of the last {n} windows{since} breached; {k} are needed",
            recent,
        )
    now = recent[-1].scored_at
    today = [f for f in firings if 0 <= (now - f.at).total_seconds() < 86_400]
    if len(today) >= max_per_day:
        return Verdict(
            False,
            f"cap: {len(today)} retrain(s) in the 24 h of windows up to {now.isoformat()} "
            f"(max_per_day {max_per_day})",
            recent,
        )
    why = "; ".join(sorted({r for w in breached for r in w.reasons})) or "breached"
    again = ""
    if unfinished:
        started = max(f.at for f in unfinished).isoformat()
        again = f" (the retrain started at window {started} never finished: firing again)"
    return Verdict(True, f"{len(breached)} of the last {n} windows breached: {why}{again}", recent)
