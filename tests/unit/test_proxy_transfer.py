"""Difficulty transfer between scorers (benchmarks.proxy_transfer): the agreement table against SciPy."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import spearmanr

from benchmarks.proxy_transfer import agreement, heldout_prompts


def test_every_two_scorers_are_compared_by_scipys_spearman_on_the_same_prompts():
    rng = np.random.default_rng(0)
    ids = [f"p{i}" for i in range(40)]
    gold = rng.random(40)
    noisy = gold + rng.normal(0, 0.15, 40)
    other = rng.random(40)
    diff = {name: dict(zip(ids, v)) for name, v in (("gold", gold), ("a", noisy), ("b", other))}
    diff["b"] = dict(reversed(list(diff["b"].items())))  # matched on prompt ids, not on order
    rows = agreement(diff)
    assert [(r["a"], r["b"]) for r in rows] == [("gold", "a"), ("gold", "b"), ("a", "b")]
    for r, (x, y) in zip(rows, ((gold, noisy), (gold, other), (noisy, other))):
        assert r["prompts"] == 40 and abs(r["spearman"] - spearmanr(x, y).statistic) < 1e-12
        assert r["ci"][0] <= r["spearman"] <= r["ci"][1]
    assert rows[0]["ci"][0] > 0.5 and rows[1]["ci"][0] < 0 < rows[1]["ci"][1]  # agreeing, and not


def test_only_prompts_every_proxy_held_out_are_used(tmp_path):
    for name, held in (("p1", ["a", "b", "c"]), ("p2", ["b", "c", "d"])):
        (tmp_path / name).mkdir()
        pq.write_table(pa.table({"prompt_id": held}), tmp_path / name / "heldout_pairs.parquet")
    assert heldout_prompts(tmp_path, ["p1", "p2"]) == {"b", "c"}
