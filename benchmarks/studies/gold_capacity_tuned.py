"""Width 256's thirds at a DPO learning rate tuned to its size (issue 19): in ``gold_capacity_helpful`` (lr 3e-5)
width 256 over-optimises the proxy and loses the gold on every seed. On one seed with all prompts, lr 3e-6 kept
its gold near or above its start for 4 of 5 iterations, about the shape width 128 has at 3e-5 (``gold_proxy.md``,
"Capacity where training on the proxy helps"). The same arms as that study's width 256, at lr 3e-6; each claim
judged after 2 iterations and at the end."""

from benchmarks.studies.base import Study
from benchmarks.studies.gold_capacity_helpful import STUDY as HELPFUL
from benchmarks.studies.gold_difficulty import GOLD
from benchmarks.studies.gold_helpful import early_and_final

LR = "learner.lr=3e-6"
ARMS = {
    f"{arm}, lr 3e-6": (*(o for o in overrides if not o.startswith("learner.lr=")), LR)
    for arm, overrides in HELPFUL.arms.items()
    if arm.startswith("h256 ")
}

STUDY = Study(
    name="gold_capacity_tuned",
    title="Easy against hard prompts at width 256 with its DPO learning rate tuned (3e-6), judged by the gold",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms=ARMS,
    claims=early_and_final(
        "at width 256 and lr 3e-6, the easiest third beats the hardest third",
        "h256 easiest third, lr 3e-6",
        "h256 hardest third, lr 3e-6",
    ),
    check=("h256 easiest third, lr 3e-6", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:proxy_and_gold",
)
