"""Alignment potential against the explicit (M+) and implicit (M-) margins and uniform choice, keeping the
top 40% of candidate pairs (``selection.pair_fraction=0.4``)."""

from benchmarks.studies.base import Claim, Study

STUDY = Study(
    name="pair_metrics",
    title="Alignment potential vs M+ vs M- vs uniform (top 40% of pairs)",
    results="pairs.md",
    experiment="pair_metrics",
    arms={
        m: (f"selection.pair_metric={m}",)
        for m in ("alignment_potential", "explicit_margin", "implicit_margin", "uniform")
    },  # fmt: skip
    claims=(
        Claim(
            "pairs chosen by alignment potential beat pairs chosen by the reward margin (M+)",
            "alignment_potential",
            "explicit_margin",
        ),
        Claim(
            "pairs chosen by alignment potential beat pairs chosen by the implicit margin (M-)",
            "alignment_potential",
            "implicit_margin",
        ),
    ),  # fmt: skip
    check=("alignment_potential", 0),
)
