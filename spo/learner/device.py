"""Where a learner's tensors live. Token batches are built on the CPU and moved to the model's device before
its forward pass; values reduced across ranks go on the device the process group's backend reduces on (CUDA
for NCCL, CPU for gloo) and come back as Python floats. Neither DeepSpeed's engine nor a Hugging Face model
moves its inputs itself."""

from __future__ import annotations

from dataclasses import fields, replace

import torch
import torch.distributed as dist


def model_device(model) -> torch.device:
    """The device of ``model``'s parameters (a DeepSpeed engine or the module it wraps)."""
    return next(model.parameters()).device


def to_model(batch, model):
    """A copy of dataclass ``batch`` with every tensor field on ``model``'s device, and the model's dtype."""
    param = next(model.parameters())
    moved = {f.name: getattr(batch, f.name).to(param.device) for f in fields(batch)}
    return replace(batch, **moved), param.dtype


def all_reduce(values: list[float], op=dist.ReduceOp.SUM) -> list[float]:
    """``values`` reduced elementwise over the ranks of the default process group."""
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=op)
    return t.tolist()
