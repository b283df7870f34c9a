"""The held-out evaluation's config (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from spo.errors import require
from spo.paths import require_file, require_model


@dataclass
class EvalConfig:
    """In-loop held-out evaluation with fixed sampling.

    ``judge`` names the scorer that decides win rates (default: ``reward.primary``);
    ``baseline`` is ``initial`` (the iteration-0 policy's answers) or a JSONL file of
    reference answers (``prompt_id``, ``answer``) covering every held-out prompt.
    ``pairwise_judge`` names a generative model that also compares each answer with the
    baseline's, pairwise, in both orders (``win_rate/pairwise``).

    The easy/medium/hard thirds of the held-out prompts come from an independent estimate: the initial
    policy's mean reward over ``difficulty_samples`` answers per prompt, drawn once with seeds of their own
    (``difficulty_seed``), never from the answers being evaluated (that would show regression to the mean
    as learning). ``difficulty_samples=0`` turns the thirds off.

    ``chunk_size`` is the held-out prompts per generator call (default: ``generator.chunk_size``). Each call
    has its own seed, so it also fixes which draws the evaluation makes: pin it when comparing runs whose
    ``generator.chunk_size`` differs, and both evaluate the same policy with the same draws.
    """

    n_samples: int = 2
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 1234
    judge: str | None = None
    baseline: str = "initial"
    pairwise_judge: str | None = None
    difficulty_samples: int = 4
    difficulty_seed: int = 977
    chunk_size: int | None = None

    def validate(self, key: str = "eval") -> None:
        n = self.difficulty_samples
        size = self.chunk_size
        require(size is None or size > 0, f"{key}.chunk_size", f"must be >= 1 or null (the generator's), got {size}")
        require(n >= 0, f"{key}.difficulty_samples", f"must be >= 0, got {n}")
        require(
            self.difficulty_seed != self.seed,
            f"{key}.difficulty_seed",
            f"must differ from {key}.seed ({self.seed}): the difficulty estimate needs answers of its own",
        )
        if self.pairwise_judge is not None:
            require_model(self.pairwise_judge, f"{key}.pairwise_judge")
        if self.baseline != "initial":
            require_file(self.baseline, f"{key}.baseline")
