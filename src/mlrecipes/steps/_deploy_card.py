"""deploy's card: the decision, the comparison and the holdout, for the person who approves."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlrecipes.config.schema import RecipeConfig
    from mlrecipes.deployment.bootstrap import PairedDifference, Scored


def _fill_card(
    card: Any,
    config: RecipeConfig,
    summary: dict[str, Any],
    holdout: Any,
    champion: Scored | None,
    challenger: Scored,
    comparison: PairedDifference | None,
) -> None:
    import pandas as pd

    from mlrecipes.cards.plots import bootstrap_histogram, roc_comparison

    decision = card.tab("Decision")
    decision.text(f"{summary['decision'].upper()}: {summary['reason']}.")
    decision.kv(
        {
            "Challenger": f"version {summary['challenger_version']}",
            "Champion before": summary["compared_with"] or "none",
            "Champion now": summary["champion_version"] or "none",
            "Previous champion": summary["previous_champion_version"] or "none",
            "Approval": summary["approval"],
            "Holdout": f"{summary['holdout']['rows']} rows (fingerprint {summary['holdout']['fingerprint']})",
        }
    )
    metrics = summary["metrics"]
    names = list(dict.fromkeys([*metrics["challenger"], *metrics["champion"]]))
    card.tab("Metrics").table(
        pd.DataFrame(
            {
                "metric": names,
                "champion": [metrics["champion"].get(n) for n in names],
                "challenger": [metrics["challenger"].get(n) for n in names],
            }
        ),
        title="On the holdout, through each registered model",
    )
    plots = card.tab("Plots")
    if config.task == "classification/binary" and challenger.scores is not None:
        curves = {f"challenger v{summary['challenger_version']}": challenger.scores}
        if champion is not None and champion.scores is not None:
            curves = {f"champion v{summary['compared_with']}": champion.scores, **curves}
        plots.image(roc_comparison(holdout[config.target_col] == config.positive_class, curves))
    if comparison is not None and len(comparison.distribution):
        plots.image(
            bootstrap_histogram(
                comparison.distribution, comparison.ci_low, comparison.ci_high, comparison.metric
            ),
            title=f"{comparison.resamples} paired resamples (seed {comparison.seed})",
        )
    card.tab("Run Summary").code(json.dumps(summary, indent=1, default=str), title="decision.json")
