"""Policy lag as pure functions over Arrow tables.

Iteration t trains the learner's policy version t (versions count completed learning steps). A sample
of the trained pool drawn from version v is ``t - v`` versions stale when iteration t trains on it;
a pair is as stale as its staler response. Samples of fixed pools (``generator.extra_pools``) have no
staleness: their weights never change.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def sample_staleness(samples: pa.Table, iteration: int, policy: str) -> np.ndarray:
    """Per row: ``iteration - policy_version`` for the trained pool ``policy``, -1 for fixed pools."""
    versions = samples.column("policy_version").to_numpy(zero_copy_only=False)
    own = pc.equal(samples.column("generator"), policy).to_numpy(zero_copy_only=False)
    return np.where(own, iteration - versions, -1)


def split_stale(samples: pa.Table, iteration: int, policy: str, max_staleness: int) -> tuple[pa.Table, pa.Table]:
    """``(fresh, stale)``: a prompt goes to ``stale`` whole when any of its trained-pool samples is staler
    than ``max_staleness`` (its difficulty is a mean over all its samples, so they must come from one place)."""
    lag = sample_staleness(samples, iteration, policy)
    stale_ids = pa.array(sorted(set(samples.column("prompt_id").filter(pa.array(lag > max_staleness)).to_pylist())),
                         pa.string())  # fmt: skip
    stale = pc.is_in(samples.column("prompt_id"), value_set=stale_ids)
    return samples.filter(pc.invert(stale)), samples.filter(stale)


def pair_staleness(pairs: pa.Table, iteration: int, policy: str) -> pa.Array:
    """Per pair: ``iteration`` minus the older of its two responses' versions; null when a response comes
    from a fixed pool."""
    if not pairs.num_rows:
        return pa.array([], pa.int64())
    chosen = pairs.column("policy_version_chosen").to_numpy(zero_copy_only=False)
    rejected = pairs.column("policy_version_rejected").to_numpy(zero_copy_only=False)
    own = np.logical_and(
        pc.equal(pairs.column("generator_chosen"), policy).to_numpy(zero_copy_only=False),
        pc.equal(pairs.column("generator_rejected"), policy).to_numpy(zero_copy_only=False),
    )
    lag = iteration - np.minimum(chosen, rejected)
    return pa.array(lag, pa.int64(), mask=~own)


def staleness_summary(lags: pa.Array | np.ndarray, prefix: str) -> dict:
    """``{prefix}_mean``, ``{prefix}_max`` and ``{prefix}_hist`` (count per staleness) over non-null lags."""
    values = [int(v) for v in (lags.to_pylist() if isinstance(lags, pa.Array) else lags) if v is not None and v >= 0]
    if not values:
        return {}
    hist = {str(k): values.count(k) for k in sorted(set(values))}
    return {f"{prefix}_mean": float(np.mean(values)), f"{prefix}_max": max(values), f"{prefix}_hist": hist}
