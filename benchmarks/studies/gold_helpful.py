"""Prompt difficulty on the proxy where training on it helps the gold (issue 19): ``gold_difficulty``'s main
arms with one epoch an iteration at lr 3e-5. On seed 0 with all prompts this setting raised the gold from
0.504 to 0.544 after 2 iterations and kept it above its start for all 5 (``gold_proxy.md``, "Not done yet");
the default setting loses the gold from the second iteration on. Each claim is judged after 2 iterations
(the peak of that one seed, chosen before these runs) and at the end."""

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.gold_difficulty import BIN, GOLD, RANDOM

HELPFUL = ("learner.epochs=1", "learner.lr=3e-5")


def early_and_final(text: str, a: str, b: str) -> tuple[Claim, Claim]:
    """A claim judged after 2 iterations (the one explored seed's peak in this setting) and at the end."""
    return Claim(f"{text}, after 2 iterations", a, b, after=2), Claim(text, a, b)


ARMS = {
    "all prompts": ("selection.fraction=0.0",),
    "hardest third": (BIN, "selection.bin=0"),
    "easiest third": (BIN, "selection.bin=2"),
    "random third": ("selection.prompts=random", "selection.match=keep_easiest", "selection.fraction=0.34"),
    "drop hardest 0.3": ("selection.fraction=0.3",),
    "drop random 0.3": (*RANDOM, "selection.fraction=0.3"),
}
CLAIMS = (
    ("training on the easiest third beats training on the hardest third", "easiest third", "hardest third"),
    ("a random third beats the hardest third (same number of prompts)", "random third", "hardest third"),
    ("dropping the hardest 30% of prompts beats training on all", "drop hardest 0.3", "all prompts"),
    ("dropping the hardest 30% beats dropping a random 30%", "drop hardest 0.3", "drop random 0.3"),
)

STUDY = Study(
    name="gold_helpful",
    title="Prompt difficulty on a learned proxy where training helps the gold (1 epoch, lr 3e-5)",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms={arm: (*overrides, *HELPFUL) for arm, overrides in ARMS.items()},
    claims=tuple(claim for text, a, b in CLAIMS for claim in early_and_final(text, a, b)),
    check=("easiest third", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
