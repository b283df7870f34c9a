"""Capacity on the gold (issue 19): easiest third against hardest third (the proxy's frozen difficulty, as in
``gold_difficulty``) at three policy widths. Each width's SFT warm-up is chosen so that it starts from about the
same initial gold (``python -m benchmarks.capacity_warmup``, results in ``capacity_warmup.json``): a wider
policy learns the task faster, so it needs fewer steps to reach the default policy's 0.55."""

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.gold_difficulty import BIN, GOLD

# width: SFT steps; 128 is the default policy (gold_difficulty's arms), the others from capacity_warmup.json
WARMUP = {64: 300, 128: 150, 256: 100}
THIRDS = {"easiest third": 2, "hardest third": 0}


def _arms() -> dict[str, tuple[str, ...]]:
    return {
        f"h{w} {name}": (BIN, f"selection.bin={b}", f"model.tiny_hidden_size={w}", f"model.tiny_sft_steps={steps}")
        for w, steps in WARMUP.items()
        for name, b in THIRDS.items()
    }


STUDY = Study(
    name="gold_capacity",
    title="Easy against hard prompts at three policy widths, warm-up matched, judged by the gold",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms=_arms(),
    claims=tuple(
        Claim(f"at width {w}, the easiest third beats the hardest third", f"h{w} easiest third", f"h{w} hardest third")
        for w in WARMUP
    ),
    check=("h64 easiest third", 0),
    **GOLD,
)
