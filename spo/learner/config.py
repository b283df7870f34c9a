"""The learner's config (torch-free): the DeepSpeed group, its loss and the loss hyper-parameters."""

from __future__ import annotations

from dataclasses import dataclass

from spo.errors import require
from spo.plugins import LOSSES

REFERENCES = ("iteration_start", "initial", "sampling_policy")


@dataclass
class LossParams:
    """The loss hyper-parameters (see :mod:`spo.learner.losses`); the learner config carries them."""

    beta: float = 0.1
    label_smoothing: float = 0.0
    gamma: float = 0.5
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0
    nll_weight: float = 0.0


@dataclass
class LearnerConfig(LossParams):
    """The DeepSpeed learner group and its loss (plus the loss hyper-parameters of :class:`LossParams`)."""

    loss: str = "dpo"
    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 2
    micro_batch_size: int = 8
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    warmup_steps: int = 0
    zero_stage: int = 2
    num_ranks: int = 2
    # iteration_start: the policy when the iteration's training starts (the sampling policy in pipeline.mode=sync);
    # initial: the starting model; sampling_policy: the policy that sampled each pair, which with a lagging
    # pipeline (one_step_off, async) is older than the learner: its log-probs come from the sampler (a pair
    # without them is scored against the current policy and counted, reference_not_sampling_policy).
    reference: str = "iteration_start"
    # Take the reference log-probs from the sampler (the engine's log-prob of each sampled answer) instead
    # of a second forward pass. Exact only when the reference is the sampling policy; each training call
    # first compares one micro-batch with a teacher-forced pass and refuses a difference above the tolerance.
    reference_from_sampler: bool = False
    sampler_tolerance: float = 0.01  # nats per sequence
    # One row per pair: the prompt's tokens once, the rejected response masked from the chosen one
    # (spo.learner.shared_prompt). The same log-probs and gradients up to floating-point order, for fewer
    # tokens; off by default so that runs committed before it stay bit for bit reproducible.
    share_prompt: bool = False
    # With share_prompt: a micro-batch's pairs laid end to end in one row, without padding, each pair masked from
    # the others, and vocabulary logits only where a response token is predicted. The same log-probs up to
    # floating-point order.
    padding_free: bool = False
    timeout_s: float = 1800.0

    def validate(self, key: str = "learner") -> None:
        """Check every value; the self-play and offline commands both call this."""
        LOSSES.check(self.loss, f"{key}.loss")
        require(self.beta > 0, f"{key}.beta", f"must be > 0, got {self.beta}")
        require(self.lr > 0, f"{key}.lr", f"must be > 0, got {self.lr}")
        ls = self.label_smoothing
        require(0 <= ls < 0.5, f"{key}.label_smoothing", f"must be in [0, 0.5), got {ls}")
        require(
            ls == 0 or LOSSES.flag(self.loss, "uses_label_smoothing"),
            f"{key}.label_smoothing",
            f"learner.loss={self.loss} does not use label smoothing; set it to 0 (losses that do: "
            f"{[n for n in LOSSES if LOSSES.flag(n, 'uses_label_smoothing')]})",
        )
        require(self.gamma >= 0, f"{key}.gamma", f"must be >= 0, got {self.gamma}")
        require(self.nll_weight >= 0, f"{key}.nll_weight", f"must be >= 0, got {self.nll_weight}")
        require(
            self.desirable_weight > 0 and self.undesirable_weight > 0,
            f"{key}.desirable_weight",
            "KTO weights must be > 0",
        )
        require(self.zero_stage in (0, 1, 2, 3), f"{key}.zero_stage", f"must be 0-3, got {self.zero_stage}")
        require(self.num_ranks >= 1, f"{key}.num_ranks", "must be >= 1")
        require(self.timeout_s > 0, f"{key}.timeout_s", f"must be > 0, got {self.timeout_s}")
        require(self.micro_batch_size >= 1, f"{key}.micro_batch_size", "must be >= 1")
        require(self.warmup_steps >= 0, f"{key}.warmup_steps", "must be >= 0")
        require(
            self.reference in REFERENCES, f"{key}.reference", f"must be one of {REFERENCES}, got {self.reference!r}"
        )
        require(
            not self.reference_from_sampler or self.reference in ("iteration_start", "sampling_policy"),
            f"{key}.reference_from_sampler",
            f"needs learner.reference=iteration_start or sampling_policy, got {self.reference!r}",
        )
        require(self.sampler_tolerance > 0, f"{key}.sampler_tolerance", "must be > 0")
        require(
            self.reference != "sampling_policy" or not self.mismatched_pairs,
            f"{key}.reference",
            f"sampling_policy has no reference for learner.loss={self.loss}'s mismatched pairs (never sampled)",
        )
        require(not self.padding_free or self.share_prompt, f"{key}.padding_free", "needs learner.share_prompt=true")

    @property
    def uses_sampler(self) -> bool:
        """Reference log-probs may come from the sampler (``reference_from_sampler``, ``sampling_policy``)."""
        return self.reference_from_sampler or self.reference == "sampling_policy"

    @property
    def layout(self) -> str:
        """How a pair is laid out for a forward pass (:func:`spo.learner.logprobs.pair_logprobs`)."""
        return "one_row" if self.padding_free else "shared_prompt" if self.share_prompt else "two_rows"

    @property
    def reference_free(self) -> bool:
        """The loss needs no reference model (the entry's own ``reference_free`` flag)."""
        return LOSSES.flag(self.loss, "reference_free")

    @property
    def mismatched_pairs(self) -> bool:
        """The loss also scores mismatched prompt/response pairs (KTO's KL baseline; the entry's own flag)."""
        return LOSSES.flag(self.loss, "needs_mismatched_pairs")
