"""The pairwise judge: parsing, position swapping, and win rates from files."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spo.eval.pairwise import PairwiseJudge
from spo.rollout.base import Completion


def fake_judge(tiny_policy, choose):
    judge = PairwiseJudge(tiny_policy)

    def generate(queries, sampling):  # the model boundary
        assert sampling.temperature == 0.0
        return [[Completion(text=choose(q), n_tokens=1, logprob_sum=None, finish_reason="stop")] for q in queries]

    judge.engine.generate = generate
    return judge


def test_a_position_biased_judge_yields_ties(tiny_policy):
    judge = fake_judge(tiny_policy, lambda q: "A")
    assert judge.compare(["p", "q"], ["good", "good"], ["bad", "bad"]).tolist() == [0.5, 0.5]


def test_win_rates_from_files_with_a_consistent_judge(tiny_policy, tmp_path):
    seen = []

    def longer(q):  # prefers the longer answer, whichever position it is in
        seen.append(q)
        a = q.split("RESPONSE A:\n")[1].split("\n\nRESPONSE B:")[0]
        b = q.split("RESPONSE B:\n")[1]
        return "A" if len(a) > len(b) else "B"

    context = [json.dumps([{"role": "system", "content": "Be brief."}]), None, None, None]  # prompt a is multi-turn
    rows = lambda answers, n: pa.table({"prompt_id": ["a", "b", "c", "d"], "prompt": list("pqrs"), "context": context,  # noqa: E731
                                        "sample_idx": [0, 0, 0, 0], "response": answers, "n_tokens": n})  # fmt: skip
    pq.write_table(rows(["long answer", "x", "long answer", "long answer"], [3, 1, 3, 3]), tmp_path / "cand.parquet")
    pq.write_table(rows(["y", "long answer", "z", "w"], [1, 3, 1, 1]), tmp_path / "base.parquet")
    judge = fake_judge(tiny_policy, longer)
    r = judge.compare_files(str(tmp_path / "cand.parquet"), str(tmp_path / "base.parquet"))
    assert r["win_rate/pairwise"] == pytest.approx(0.75) and r["length_mean/pairwise"] == pytest.approx(2.5)
    assert sum("PROMPT:\n[system]\nBe brief.\n\n[user]\np\n" in q for q in seen) == 2  # both orders, whole conversation
    assert r["lc_win_rate/pairwise"] < 0.75  # the wins came with longer answers
    assert np.isfinite(r["lc_win_rate_ci95/pairwise"]).all()
