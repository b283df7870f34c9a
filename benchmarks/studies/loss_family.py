"""DPO, IPO (per-token, TRL's form), SimPO and KTO on the same pipeline and pairs, at the configs' defaults."""

from benchmarks.studies.base import Claim, Study

STUDY = Study(
    name="loss_family",
    title="DPO vs IPO vs SimPO vs KTO on the same data",
    results="pairs.md",
    experiment="loss_family",
    arms={loss: (f"learner={loss}",) for loss in ("dpo", "ipo", "simpo", "kto")},
    claims=(
        Claim("self-play DPO improves the held-out reward", "dpo", "initial"),
        Claim(
            "KTO (pairs taken as unpaired) trains as well as DPO (within 0.02)",
            "kto",
            "dpo",
            kind="matches",
            margin=0.02,
        ),
    ),  # fmt: skip
    check=("kto", 0),
)
