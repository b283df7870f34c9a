"""Pair selection against a learned proxy, evaluated on the gold (issue 19): alignment potential vs the
proxy's reward margin (M+) vs the implicit margin (M-) vs uniform, keeping the top 40% of candidate pairs."""

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.gold_difficulty import GOLD
from benchmarks.studies.pair_metrics import STUDY as EXACT  # the same arms, on the exact reward

STUDY = Study(
    name="gold_pairs",
    title="Alignment potential vs M+ vs M- vs uniform on a learned proxy, judged by the gold",
    results="gold_proxy.md",
    experiment="gold_pairs",
    arms=EXACT.arms,
    claims=(
        Claim("alignment potential beats the reward margin (M+)", "alignment_potential", "explicit_margin"),
        Claim("alignment potential beats the implicit margin (M-)", "alignment_potential", "implicit_margin"),
        Claim("the reward margin (M+) beats uniform choice", "explicit_margin", "uniform"),
    ),  # fmt: skip
    check=("alignment_potential", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
