"""Capacity where training on the proxy helps the gold (issue 19): ``gold_capacity``'s easiest third against
hardest third at three policy widths, in ``gold_helpful``'s setting (one epoch an iteration at lr 3e-5), each
width warmed up to about the same initial gold by its SFT step count and learning rate
(``python -m benchmarks.capacity_warmup``; the cells tried are in ``gold_proxy.md``, "Capacity where training
helps"). Each claim is judged after 2 iterations and at the end, as in ``gold_helpful``."""

from benchmarks.studies.base import Study
from benchmarks.studies.gold_capacity import thirds_at_widths
from benchmarks.studies.gold_difficulty import GOLD
from benchmarks.studies.gold_helpful import HELPFUL, early_and_final

# width: (SFT steps, SFT learning rate); initial gold on the AMD EPYC draw in the comment
WARMUP = {64: (100, 3e-3), 128: (150, 3e-3), 256: (75, 3e-4)}  # 0.549, 0.504, 0.537


STUDY = Study(
    name="gold_capacity_helpful",
    title="Easy against hard prompts at three policy widths, warm-up matched, where training helps the gold",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms=thirds_at_widths(
        {w: (f"model.tiny_sft_steps={steps}", f"model.tiny_sft_lr={lr:g}") for w, (steps, lr) in WARMUP.items()},
        *HELPFUL,
    ),
    claims=tuple(
        claim
        for w in WARMUP
        for claim in early_and_final(
            f"at width {w}, the easiest third beats the hardest third", f"h{w} easiest third", f"h{w} hardest third"
        )
    ),
    check=("h256 easiest third", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
