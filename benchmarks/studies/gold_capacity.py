"""Capacity on the gold (issue 19): easiest third against hardest third (the proxy's frozen difficulty, as in
``gold_difficulty``) at three policy widths. Each width's SFT warm-up is chosen so that it starts from about the
same initial gold (``python -m benchmarks.capacity_warmup``; the steps tried and the gold each gave are in
``gold_proxy.md``, "Capacity"). Width 256 does not reach the others' 0.50-0.55 at any of the step counts
tried (60 to 250); its best, 150 steps, starts at 0.42."""

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.gold_difficulty import BIN, GOLD

# width: SFT steps (initial gold on the AMD EPYC draw: 0.549, 0.504, 0.422); 128 is the default policy
WARMUP = {64: 100, 128: 150, 256: 150}
THIRDS = {"easiest third": 2, "hardest third": 0}


def thirds_at_widths(warmup: dict[int, tuple[str, ...]], *extra: str) -> dict[str, tuple[str, ...]]:
    """The easiest and hardest third at each width, each width with its warm-up overrides, then ``extra``."""
    return {
        f"h{w} {name}": (BIN, f"selection.bin={b}", f"model.tiny_hidden_size={w}", *overrides, *extra)
        for w, overrides in warmup.items()
        for name, b in THIRDS.items()
    }


STUDY = Study(
    name="gold_capacity",
    title="Easy against hard prompts at three policy widths, warm-up matched, judged by the gold",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms=thirds_at_widths({w: (f"model.tiny_sft_steps={steps}",) for w, steps in WARMUP.items()}),
    claims=tuple(
        Claim(f"at width {w}, the easiest third beats the hardest third", f"h{w} easiest third", f"h{w} hardest third")
        for w in WARMUP
    ),
    check=("h64 easiest third", 0),
    **GOLD,
)
