"""Separate samples that a scorer failed on, so they are never trained on."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spo.schemas import reward_col


def split_nonfinite(samples: pa.Table, scorers: list[str]) -> tuple[pa.Table, pa.Table]:
    """Return ``(clean, quarantined)``.

    A sample is quarantined if any reward is null, NaN or inf, or a scorer recorded a
    ``score_error``; the quarantined rows carry their reason in ``score_error``.
    """
    ok = pa.array([True] * samples.num_rows)
    for s in scorers:
        finite = pc.fill_null(pc.is_finite(samples.column(reward_col(s))), False)
        ok = pc.and_(ok, finite)
    if "score_error" in samples.column_names:
        ok = pc.and_(ok, pc.is_null(samples.column("score_error")))
    bad = samples.filter(pc.invert(ok))
    if "score_error" in bad.column_names:
        reason = pc.fill_null(bad.column("score_error"), f"non-finite reward from one of {scorers}")
        bad = bad.set_column(bad.schema.get_field_index("score_error"), "score_error", reason)
    return samples.filter(ok), bad


class RewardFailureError(RuntimeError):
    """Too many samples of an iteration could not be scored."""


def check_failures(iteration: int, summary: dict, limit: float, quarantine_path) -> None:
    """Stop the run once the quarantined share of an iteration's samples (``summary`` of the select stage)
    exceeds ``limit`` (``reward.max_failure_fraction``)."""
    if summary["quarantined_fraction"] > limit:
        raise RewardFailureError(
            f"iteration {iteration}: {summary['quarantined']} of {summary['samples'] + summary['quarantined']} "
            f"samples could not be scored ({summary['quarantined_fraction']:.1%} > reward.max_failure_fraction="
            f"{limit}); first error: {summary['first_score_error']}; see {quarantine_path}"
        )
