"""Generator-level quality deltas: pairs within the policy's own samples, or across fixed pools with a small
(policy vs weak) or a large (strong vs weak) delta."""

from benchmarks.studies.base import Claim, Study

STUDY = Study(
    name="generator_delta",
    title="Generator-level deltas: cross vs within",
    results="pairs.md",
    experiment="generator_delta",
    arms={p: (f"+pairing={p}",) for p in ("within", "cross_small", "cross_large")},
    claims=(
        Claim("cross-generator pairs with a larger quality delta make better pairs", "cross_large", "cross_small"),
    ),
    check=("cross_large", 1),
)
