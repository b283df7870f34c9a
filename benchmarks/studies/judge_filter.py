"""Sample-level deltas: the top 30% of pairs by a judge's correctness delta against all pairs."""

from benchmarks.studies.base import Claim, Study

STUDY = Study(
    name="judge_filter",
    title="Sample-level deltas: the judge filter",
    results="pairs.md",
    experiment="judge_filter",
    arms={"judge_delta top 30%": ("selection.pair_metric=judge_delta",), "all pairs": ("selection.pair_metric=all",)},
    claims=(
        Claim(
            "the top 30% of pairs by judge delta train as well as all pairs (within 0.02)",
            "judge_delta top 30%",
            "all pairs",
            kind="matches",
            margin=0.02,
        ),
    ),  # fmt: skip
    check=("judge_delta top 30%", 0),
)
