"""Size-capped buckets of named tensors: plan them, pack each into one flat tensor, unpack on arrival.

A bucket holds tensors of one dtype whose total size stays under the cap (a single tensor larger
than the cap gets a bucket of its own), so a push is a few large broadcasts, not one per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TensorMeta:
    """What a receiver needs to rebuild one tensor from a flat bucket."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # e.g. "float32", "bfloat16"

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * torch.empty((), dtype=getattr(torch, self.dtype)).element_size()


def describe(named: list[tuple[str, torch.Tensor]]) -> list[TensorMeta]:
    """The metadata of named tensors, in order."""
    return [TensorMeta(n, tuple(t.shape), str(t.dtype).removeprefix("torch.")) for n, t in named]


def plan_buckets(metas: list[TensorMeta], cap_bytes: int) -> list[list[TensorMeta]]:
    """Group ``metas`` (in order) into single-dtype buckets of at most ``cap_bytes`` each."""
    if cap_bytes <= 0:
        raise ValueError(f"bucket cap must be > 0 bytes, got {cap_bytes}")
    buckets: list[list[TensorMeta]] = []
    size = 0
    for meta in metas:
        current = buckets[-1] if buckets else None
        if current is None or current[0].dtype != meta.dtype or size + meta.nbytes > cap_bytes:
            buckets.append([meta])
            size = meta.nbytes
        else:
            current.append(meta)
            size += meta.nbytes
    return buckets


def pack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """One flat tensor holding ``tensors`` back to back (same dtype and device)."""
    return torch.cat([t.reshape(-1) for t in tensors])


def unpack(flat: torch.Tensor, bucket: list[TensorMeta]) -> list[tuple[str, torch.Tensor]]:
    """Views into ``flat`` shaped as the bucket's tensors."""
    out, offset = [], 0
    for meta in bucket:
        out.append((meta.name, flat[offset : offset + meta.numel].view(meta.shape)))
        offset += meta.numel
    if offset != flat.numel():
        raise ValueError(f"bucket holds {flat.numel()} elements, its metadata {offset}")
    return out


def to_plain(plan: list[list[TensorMeta]]) -> list[list[list]]:
    """A plan as plain lists (``[[name, shape, dtype], ...]`` per bucket), which any RPC can encode."""
    return [[[m.name, list(m.shape), m.dtype] for m in bucket] for bucket in plan]


def from_plain(plan: list[list[list]]) -> list[list[TensorMeta]]:
    """The inverse of :func:`to_plain`."""
    return [[TensorMeta(name, tuple(shape), dtype) for name, shape, dtype in bucket] for bucket in plan]
