"""Pair metrics and metric-based pair selection on crafted candidates."""

import numpy as np
import pyarrow as pa
import pytest

from spo.buffer.pair_metrics.base import add_margins, attach_logprobs, mark_top_pairs, zscore


def candidates() -> pa.Table:
    # explicit margins and log-probs chosen so that each metric ranks the pairs differently
    return pa.table(
        {
            "prompt_id": ["a", "b", "c", "d", "e"],
            "margin_explicit": [0.9, 0.8, 0.3, 0.2, 0.1],
            "chosen_logps": [-2.0, -8.0, -4.0, -6.0, -3.0],
            "rejected_logps": [-8.0, -8.0, -4.0, -2.0, -3.0],
            "chosen_tokens": [2.0, 2.0, 4.0, 2.0, 1.0],
            "rejected_tokens": [2.0, 4.0, 2.0, 2.0, 3.0],
            "ref_chosen_logps": [-3.0, -8.0, -4.0, -6.0, -3.0],
            "ref_rejected_logps": [-7.0, -8.0, -4.0, -2.0, -3.0],
        }
    )


def test_margins_in_both_forms_and_alignment_potential():
    t = add_margins(candidates(), beta=0.5, implicit="length_normalized", weight=1.0)
    norm = np.array([-1.0, -4.0, -1.0, -3.0, -3.0]) - np.array([-4.0, -2.0, -2.0, -1.0, -1.0])  # [3,-2,1,-2,-2]
    assert t.column("margin_implicit_norm").to_pylist() == pytest.approx(norm.tolist())
    # dpo: 0.5 * ((c - rc) - (r - rr)): a -> 0.5 * (1 - (-1)) = 1
    assert t.column("margin_implicit_dpo").to_pylist() == pytest.approx([1.0, 0.0, 0.0, 0.0, 0.0])
    assert t.column("margin_implicit").to_pylist() == pytest.approx(norm.tolist())
    expl = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    ap = zscore(expl) - zscore(np.abs(norm))
    assert t.column("alignment_potential").to_pylist() == pytest.approx(ap.tolist())
    dpo = add_margins(candidates(), beta=0.5, implicit="dpo", weight=2.0)
    assert dpo.column("margin_implicit").to_pylist() == pytest.approx([1.0, 0.0, 0.0, 0.0, 0.0])
    assert dpo.column("alignment_potential").to_pylist() == pytest.approx(
        (zscore(expl) - 2.0 * zscore(np.array([1.0, 0, 0, 0, 0]))).tolist()
    )


def test_dpo_form_needs_reference_logprobs():
    t = candidates().drop_columns(["ref_chosen_logps", "ref_rejected_logps"])
    with pytest.raises(ValueError, match="selection.implicit=dpo needs reference log-probs"):
        add_margins(t, beta=0.5, implicit="dpo", weight=1.0)


def kept(metric: str, fraction: float = 0.4, **kw) -> list[str]:
    t = add_margins(candidates(), beta=0.5, implicit="length_normalized", weight=1.0)
    out = mark_top_pairs(t, metric, fraction, kw.get("judge_dim"), seed=kw.get("seed", 0))
    return sorted(out.filter(out.column("selected")).column("prompt_id").to_pylist())


def test_each_metric_keeps_its_own_top_fraction():
    # |norm| = [3, 2, 1, 2, 2]
    assert kept("all") == ["a", "b", "c", "d", "e"]
    assert kept("explicit_margin") == ["a", "b"]  # M+: largest explicit margins
    assert kept("implicit_margin") == ["b", "c"]  # M-: smallest |implicit| (c), then b/d/e tie -> b by prompt_id
    assert kept("alignment_potential") == ["b", "c"]  # large explicit margin, small implicit one
    assert kept("uniform") == kept("uniform") and len(kept("uniform", seed=3)) == 2
    assert kept("explicit_margin", fraction=0.01) == ["a"]  # rounds to 0: keeps one


def test_judge_delta_skips_missing_scores_and_names_missing_column():
    t = candidates().append_column("judge_delta/factuality", pa.array([1.0, None, 3.0, float("nan"), -1.0]))
    out = mark_top_pairs(t, "judge_delta", 0.6, "factuality", seed=0)
    assert sorted(out.filter(out.column("selected")).column("prompt_id").to_pylist()) == ["a", "c", "e"]
    with pytest.raises(KeyError, match="judge_delta/coherence"):
        mark_top_pairs(t, "judge_delta", 0.5, "coherence", seed=0)


def test_attach_logprobs_requires_exact_cover():
    base = pa.table({"prompt_id": ["a", "b", "c"]})
    piece = lambda idx: pa.table({"pair_index": pa.array(idx, pa.int64()), "chosen_logps": [float(i) for i in idx]})  # noqa: E731
    joined = attach_logprobs(base, [piece([1]), piece([0, 2])])
    assert joined.column("chosen_logps").to_pylist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="exactly once"):
        attach_logprobs(base, [piece([0, 1]), piece([1, 2])])
