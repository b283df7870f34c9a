"""Separate samples whose rewards are not finite, so they are never trained on."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spo.schemas import reward_col


def split_nonfinite(samples: pa.Table, scorers: list[str]) -> tuple[pa.Table, pa.Table]:
    """Return ``(clean, quarantined)``; a sample is quarantined if any reward is null, NaN or inf."""
    ok = pa.array([True] * samples.num_rows)
    for s in scorers:
        col = samples.column(reward_col(s))
        finite = pc.fill_null(pc.is_finite(col), False)
        ok = pc.and_(ok, finite)
    return samples.filter(ok), samples.filter(pc.invert(ok))
