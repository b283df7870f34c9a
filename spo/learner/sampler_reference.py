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


def usable(rows: list[dict], generator: str, version: int) -> list[bool]:
    """Per row: both answers sampled by ``generator`` at ``version``, with the engine's log-probs."""
    return [
        r.get("generator_chosen") == generator == r.get("generator_rejected")
        and r.get("policy_version_chosen") == version == r.get("policy_version_rejected")
        and r.get("sampler_logps_chosen") is not None
        and r.get("sampler_logps_rejected") is not None
        for r in rows
    ]


def older(rows: list[dict], generator: str, version: int) -> tuple[list[dict], list[dict]]:
    """The rows sampled before ``version`` (``learner.reference=sampling_policy``), split into those whose
    reference can be the policy that sampled them (both answers from one version of ``generator``, with the
    engine's log-probs; the learner no longer has those weights) and those that cannot (an answer whose text
    does not re-tokenize to the sampled tokens has none), which the caller scores against the current policy
    and counts."""
    past, without = [], []
    for r in rows:
        vc, vr = r.get("policy_version_chosen"), r.get("policy_version_rejected")
        if vc == version == vr:
            continue
        same = r.get("generator_chosen") == generator == r.get("generator_rejected") and vc == vr
        has = r.get("sampler_logps_chosen") is not None and r.get("sampler_logps_rejected") is not None
        (past if same and has else without).append(r)
    return past, without


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
