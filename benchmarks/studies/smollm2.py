"""SmolLM2-135M-Instruct on ifeval_lite: self-play DPO with the rule reward and spo's own MiniLM RM (the
default demo's experiment; seed 0 is ``make demo``'s run)."""

from benchmarks.studies.base import Claim, Study

STUDY = Study(
    name="smollm2",
    title="SmolLM2-135M-Instruct on ifeval_lite",
    results="smollm2_ifeval.md",
    experiment="smollm2_ifeval",
    arms={"self-play DPO": ()},
    claims=(
        Claim("self-play DPO on a real instruct model improves the held-out reward", "self-play DPO", "initial"),
    ),  # fmt: skip
    check=("self-play DPO", 0),
    setup=("make demo-models",),
    extra="benchmarks.smollm2_tables:study_tables",
)
