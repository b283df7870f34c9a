"""Pair selection on the proxy where training on it helps the gold (issue 19): ``gold_pairs``'s arms
(alignment potential, M+, M-, uniform; top 40% of candidate pairs) with ``gold_helpful``'s one epoch an
iteration at lr 3e-5. ``gold_pairs`` ran where the policy over-optimises the proxy and loses gold from the
second iteration on, so its verdicts measured the collapse; here each claim is judged after 2 iterations and
at the end, as in ``gold_helpful``."""

from benchmarks.studies.base import Study
from benchmarks.studies.gold_difficulty import GOLD
from benchmarks.studies.gold_helpful import HELPFUL, early_and_final
from benchmarks.studies.gold_pairs import STUDY as PAIRS

STUDY = Study(
    name="gold_pairs_helpful",
    title="Alignment potential vs M+ vs M- vs uniform on a learned proxy where training helps the gold",
    results="gold_proxy.md",
    experiment="gold_pairs",
    arms={arm: (*overrides, *HELPFUL) for arm, overrides in PAIRS.arms.items()},
    claims=tuple(claim for c in PAIRS.claims for claim in early_and_final(c.text, c.a, c.b)),
    check=("alignment_potential", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
