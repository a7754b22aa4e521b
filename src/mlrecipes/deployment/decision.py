"""The promotion rule (pure): given the challenger's validation status and, when there is a
champion, the paired comparison on the holdout, what happens to the ``champion`` alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlrecipes.deployment.bootstrap import PairedDifference

Outcome = Literal["promoted", "kept", "pending_approval", "first_champion", "rejected"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    moves_champion: bool  # the challenger becomes champion (now, or on approval)

    @property
    def moves_now(self) -> bool:
        """The champion moves in this deploy (a move under approval waits for ``approve``)."""
        return self.moves_champion and self.outcome != "pending_approval"


def decide(
    validation_status: str,
    comparison: PairedDifference | None,
    min_improvement: float,
    manual_approval: bool,
    challenger_is_champion: bool = False,
    rolled_back: str | None = None,
    champion_gone: str | None = None,
) -> Decision:
    """Promote only a VALIDATED challenger that beats the champion by at least
    ``min_improvement`` with the whole confidence interval of the improvement above 0.

    With no champion, the first VALIDATED model becomes champion. Under manual approval a move
    waits for ``mlrecipes approve`` (outcome ``pending_approval``). A move never happens by
    itself when the challenger was rolled back (``rolled_back``: when and why), or when the
    champion the last decision left was deleted from the registry (``champion_gone``: its
    version; the challenger may be the model that was judged worse than it): both wait for an
    approval."""
    if challenger_is_champion:
        return Decision("kept", "the challenger is already the champion", False)
    if validation_status != "VALIDATED":
        return Decision(
            "rejected",
            f"the challenger's validation status is {validation_status}, not VALIDATED",
            False,
        )
    if comparison is None:
        move = Decision("first_champion", "there is no champion yet", True)
    else:
        c = comparison
        level = f"{c.confidence:.0%}"
        detail = (
            f"{c.metric} {c.challenger:.4f} vs champion {c.champion:.4f}: improvement "
            f"{c.improvement:+.4f}, {level} interval [{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
        )
        if c.improvement < 0:
            return Decision("kept", f"{detail}; worse than the champion", False)
        if c.improvement < min_improvement:
            return Decision(
                "kept", f"{detail}; below the required margin {min_improvement:g}", False
            )
        if not c.ci_low > 0:
            return Decision(
                "kept", f"{detail}; the interval includes 0, so the gain may be noise", False
            )
        move = Decision("promoted", f"{detail}; beats the champion", True)
    return _gated(move, manual_approval, rolled_back, champion_gone if comparison is None else None)


def _gated(
    move: Decision, manual_approval: bool, rolled_back: str | None, champion_gone: str | None
) -> Decision:
    """A move the rule allows, unless it must wait for a person's approval."""
    if rolled_back is not None:
        return Decision(
            "pending_approval",
            f"{move.reason}; but this version was rolled back ({rolled_back}): promoting it again "
            "needs `mlrecipes approve --reason ...` citing the rollback",
            True,
        )
    if champion_gone is not None:
        return Decision(
            "pending_approval",
            f"the champion v{champion_gone} the last decision left is gone from the registry "
            "(deleted by hand?), so nothing was compared; the challenger is not promoted by "
            "itself: `mlrecipes approve` makes it champion",
            True,
        )
    if manual_approval:
        return Decision("pending_approval", f"{move.reason}; waiting for `mlrecipes approve`", True)
    return move
