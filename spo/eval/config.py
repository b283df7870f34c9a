"""The held-out evaluation's config (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from spo.paths import require_file, require_model


@dataclass
class EvalConfig:
    """In-loop held-out evaluation with fixed sampling.

    ``judge`` names the scorer that decides win rates (default: ``reward.primary``);
    ``baseline`` is ``initial`` (the iteration-0 policy's answers) or a JSONL file of
    reference answers (``prompt_id``, ``answer``) covering every held-out prompt.
    ``pairwise_judge`` names a generative model that also compares each answer with the
    baseline's, pairwise, in both orders (``win_rate/pairwise``).
    """

    n_samples: int = 2
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 1234
    judge: str | None = None
    baseline: str = "initial"
    pairwise_judge: str | None = None

    def validate(self, key: str = "eval") -> None:
        if self.pairwise_judge is not None:
            require_model(self.pairwise_judge, f"{key}.pairwise_judge")
        if self.baseline != "initial":
            require_file(self.baseline, f"{key}.baseline")
