"""Pair builders (``selection.pair_builder``), one per file, named in :data:`spo.plugins.PAIR_BUILDERS`.

Each turns a prompt's scored samples into one chosen/rejected candidate pair:
``builder(samples, scorer, policy, strong, weak) -> (pairs, n_dropped)``. Flag: ``needs_pools``
(reads ``selection.strong`` and ``selection.weak``).
"""
