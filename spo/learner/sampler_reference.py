"""Reference log-probs taken from the sampler instead of a second forward pass.

With ``learner.reference=iteration_start`` in the synchronous loop, the reference is exactly the policy
that sampled this iteration's answers, and the engine already computed each answer's log-prob under
it (unwarped, as a teacher-forced pass does). A pair may use those values when both its answers come
from the policy's own generator at this iteration's version; other pairs (extra pools, older samples)
get a forward pass. Before relying on the sampler, each rank compares one micro-batch of such pairs
with a teacher-forced pass and refuses a difference above ``learner.sampler_tolerance``: engines whose
numerics differ from the learner's (vLLM in bf16 on GPU) fail loudly rather than bias the loss.

``learner.reference=sampling_policy`` keeps that reference when the pipeline lags: a pair sampled from an
older version (``one_step_off``, ``async``) takes its sampler's log-probs as its reference, so a lagged
iteration's loss is measured against the policy that produced its answers, as the synchronous loop's is.
"""

from __future__ import annotations

import torch


class SamplerMismatch(ValueError):
    """The sampler's log-probs differ from a teacher-forced pass by more than the tolerance."""


def sampled_version(row: dict, generator: str) -> int | None:
    """The version of ``generator`` that sampled both of the pair's answers, with the engine's log-probs of
    both; ``None`` for a pair with another generator, two versions, or a missing log-prob."""
    version = row.get("policy_version_chosen")
    same = row.get("generator_chosen") == generator == row.get("generator_rejected")
    has = row.get("sampler_logps_chosen") is not None and row.get("sampler_logps_rejected") is not None
    return version if same and has and version == row.get("policy_version_rejected") else None


def usable(rows: list[dict], generator: str, version: int) -> list[bool]:
    """Per row: both answers sampled by ``generator`` at ``version``, with the engine's log-probs."""
    return [sampled_version(r, generator) == version for r in rows]


def older(rows: list[dict], generator: str, version: int) -> tuple[list[dict], list[dict], list[dict]]:
    """For ``learner.reference=sampling_policy``: the rows sampled before ``version`` whose reference is the
    policy that sampled them (:func:`sampled_version`; the learner no longer has those weights), the other
    rows, and those of the others that are not of ``version`` either (an answer whose text does not
    re-tokenize to the sampled tokens has no log-prob), which the caller scores against the current policy
    and counts."""
    past, others, without = [], [], []
    for r in rows:
        sampled = sampled_version(r, generator)
        if sampled is not None and sampled != version:
            past.append(r)
            continue
        others.append(r)
        if not r.get("policy_version_chosen") == version == r.get("policy_version_rejected"):
            without.append(r)
    return past, others, without


def check(batch: list[dict], chosen: torch.Tensor, rejected: torch.Tensor, tolerance: float) -> float:
    """The largest |sampler - forward| over ``batch`` (nats per sequence); raises above ``tolerance``."""
    sampler = torch.tensor([[r["sampler_logps_chosen"], r["sampler_logps_rejected"]] for r in batch])
    diff = float((sampler - torch.stack([chosen, rejected], dim=1).double().cpu()).abs().max())
    if diff > tolerance:
        raise SamplerMismatch(
            f"learner.reference_from_sampler: the sampler's log-probs differ from a teacher-forced pass by up to "
            f"{diff:.4f} nats per answer (learner.sampler_tolerance={tolerance}); the engine's numerics differ "
            "from the learner's, so set learner.reference_from_sampler=false"
        )
    return diff


def take(rows: list[dict]) -> None:
    """Use each row's sampler log-probs as its reference log-probs."""
    for r in rows:
        r["ref_chosen"] = torch.tensor(r["sampler_logps_chosen"], dtype=torch.float32)
        r["ref_rejected"] = torch.tensor(r["sampler_logps_rejected"], dtype=torch.float32)
