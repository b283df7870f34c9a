"""Pruning the hardest 10% and 70% of prompts against random pruning of the same count, on the proxy and judged by
the gold (issue 19): with ``gold_difficulty``'s 0% (all prompts), 30% and 50% arms this completes the issue's grid
of 0/10/30/50/70%. Same setting and proxy as ``gold_difficulty``."""

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.gold_difficulty import GOLD, RANDOM

FRACTIONS = (0.1, 0.7)

STUDY = Study(
    name="gold_pruning",
    title="Pruning the hardest 10% and 70% against random pruning, on a learned proxy, judged by the gold",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms={
        **{f"drop hardest {f}": (f"selection.fraction={f}",) for f in FRACTIONS},
        **{f"drop random {f}": (*RANDOM, f"selection.fraction={f}") for f in FRACTIONS},
    },
    claims=tuple(
        Claim(f"dropping the hardest {f:.0%} beats dropping a random {f:.0%}", f"drop hardest {f}", f"drop random {f}")
        for f in FRACTIONS
    ),
    check=("drop hardest 0.1", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
