"""The judge-delta filter against a learned proxy, evaluated on the gold (issue 19): pairs come from the
proxy; a judge that knows the gold with its own noise keeps the top 30% by its correctness delta."""

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.gold_difficulty import GOLD

STUDY = Study(
    name="gold_judge",
    title="The judge filter on a learned proxy, with a judge that knows the gold, judged by the gold",
    results="gold_proxy.md",
    experiment="gold_judge",
    arms={
        "judge_delta top 30%": ("selection.pair_metric=judge_delta",),
        "all pairs": ("selection.pair_metric=all",),
        "uniform 30%": ("selection.pair_metric=uniform",),  # the same number of pairs, chosen at random
    },
    claims=(
        Claim("the top 30% of pairs by an informed judge's delta beat all pairs", "judge_delta top 30%", "all pairs"),
        # added after the first results were seen: fewer pairs alone lose less gold on a gameable proxy
        Claim("the judge's top 30% beat a random 30% of the pairs", "judge_delta top 30%", "uniform 30%"),
    ),
    check=("judge_delta top 30%", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
