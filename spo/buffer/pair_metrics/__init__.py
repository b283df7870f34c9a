"""Pair metrics (``selection.pair_metric``), one per file, named in :data:`spo.plugins.PAIR_METRICS`.

Each is ``metric(pairs, judge_dim, seed) -> scores`` (higher is better); selection keeps the top
``pair_fraction`` (:func:`~spo.buffer.pair_metrics.base.mark_top_pairs`). Flags: ``needs_logprobs``
(the learner computes the candidates' log-probs first), ``needs_judge_dim``, ``keeps_all``.
"""
