"""RM training data: rule labels, edits that meet or miss a constraint, pair quotas, prompt splits, CIs."""

import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spo.analysis.stats import cluster_bootstrap_ci
from spo.reward.rm_data import degrade, labelled_answers, pairs_from_answers, split_by_prompt
from spo.tasks import ifeval_lite as ie
from spo.tasks import ifeval_perturb

RULE, AUGMENT = "spo.tasks.ifeval_lite:reward", "spo.tasks.ifeval_perturb:variants"


def _samples(tmp_path, n_prompts=6, n=4):
    prompts = ie.generate_prompts(n_prompts, seed=2)
    answers = ["the sea is calm", "The Sea, Is Calm today", "- one\n- two", '{"a": 1}']
    rows = [{"prompt_id": p["prompt_id"], "prompt": p["prompt"], "response": answers[i % 4],
             "finish_reason": "length" if i == 0 else "stop", "reward/rule": -1.0}
            for p in prompts for i in range(n)]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "samples.parquet")
    return tmp_path / "samples.parquet", prompts


def test_edits_meet_or_miss_the_prompts_own_constraints():
    rng = random.Random(0)
    for row in ie.generate_prompts(200, seed=5):
        base = "The quiet sea, calm and wide, rests under a pale moon tonight"
        edits = ifeval_perturb.variants(row["prompt"], base, rng)
        assert edits and len(set(edits)) == len(edits) and base not in edits
        assert {ie.reward(row["prompt"], e) for e in edits} != {ie.reward(row["prompt"], base)}
    scores = [ie.reward(r["prompt"], ifeval_perturb.satisfy_all(r["prompt"], "calm sea", rng))
              for r in ie.generate_prompts(300, seed=6)]  # fmt: skip
    assert np.mean(scores) > 0.85


def test_rule_relabels_samples_and_edits_are_labelled_by_the_rule(tmp_path):
    path, prompts = _samples(tmp_path)
    stored = labelled_answers(path, "rule")
    assert {a["label"] for v in stored.values() for a in v} == {-1.0}
    answers = labelled_answers(path, "rule", rule=RULE, augment=AUGMENT, seed=1)
    assert list(answers) == sorted(p["prompt_id"] for p in prompts)
    for items in answers.values():
        sampled = [a for a in items if not a["edited"]]
        assert len(sampled) == 4 and any(a["edited"] for a in items)
        assert sampled[0]["label"] == ie.reward(sampled[0]["prompt"], sampled[0]["response"], "length")
        for a in items:
            assert a["label"] == ie.reward(a["prompt"], a["response"], "length" if a is sampled[0] else "stop")
    with pytest.raises(ValueError, match="--augment needs --rule"):
        labelled_answers(path, "rule", augment=AUGMENT)
    with pytest.raises(ValueError, match="no column 'reward/rm'"):
        labelled_answers(path, "rm")


def test_pairs_keep_sampled_pairs_first_within_the_quota(tmp_path):
    path, _ = _samples(tmp_path)
    answers = labelled_answers(path, "rule", rule=RULE, augment=AUGMENT, seed=1)
    pairs = pairs_from_answers(answers, max_per_prompt=8, seed=0)
    for pid, items in answers.items():
        mine = [p for p in pairs if p["prompt_id"] == pid]
        sampled = [a for a in items if not a["edited"]]
        n_sampled = sum(a["label"] != b["label"] for i, a in enumerate(sampled) for b in sampled[i + 1 :])
        assert len(mine) <= 8 and sum(p["source"] == "sampled" for p in mine) == min(8, n_sampled)
        label = {a["response"]: a["label"] for a in items}
        assert all(label[p["chosen"]] > label[p["rejected"]] for p in mine)
        assert all(p["difficulty"] == pytest.approx(np.mean([a["label"] for a in sampled])) for p in mine)


def test_split_by_prompt_gives_disjoint_parts():
    pairs = [{"prompt_id": f"p{i % 20}"} for i in range(100)]
    held, valid, train = split_by_prompt(pairs, (0.3, 0.15), seed=0)
    ids = [{p["prompt_id"] for p in part} for part in (held, valid, train)]
    assert [len(x) for x in ids] == [6, 3, 11] and not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert len(held) + len(valid) + len(train) == 100


def test_cluster_bootstrap_resamples_prompts_not_pairs():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 10)
    values = np.repeat(rng.random(20) < 0.7, 10).astype(float)  # every prompt's pairs agree: 20 effective samples
    lo, hi = cluster_bootstrap_ci(values, groups, seed=1)
    assert lo < values.mean() < hi
    # a pair-level bootstrap would treat 200 pairs as independent and give a CI about sqrt(10) narrower
    naive = np.percentile([rng.choice(values, 200).mean() for _ in range(2000)], [2.5, 97.5])
    assert (hi - lo) > 2.5 * (naive[1] - naive[0])
    assert cluster_bootstrap_ci(np.ones(30), np.arange(30)) == (1.0, 1.0)


def test_degrade_caps_the_comparisons_and_swaps_exactly_the_noisy_share():
    pairs = [{"prompt_id": f"p{i}", "prompt": "q", "chosen": f"good{i}", "rejected": f"bad{i}"} for i in range(200)]
    out = degrade(pairs, max_pairs=50, label_noise=0.2, seed=3)
    assert len(out) == 50 and len({p["prompt_id"] for p in out}) == 50
    flipped = [p for p in out if p["flipped"]]
    assert len(flipped) == 10 and all(p["chosen"].startswith("bad") for p in flipped)
    assert all(p["chosen"].startswith("good") for p in out if not p["flipped"])
    assert out == degrade(pairs, max_pairs=50, label_noise=0.2, seed=3)  # seeded
    assert [p["chosen"] for p in degrade(pairs)] == [p["chosen"] for p in pairs]  # no budget, no noise: the gold
    with pytest.raises(ValueError, match="label_noise must be in"):
        degrade(pairs, label_noise=0.5)
    with pytest.raises(ValueError, match="max_pairs must be >= 1"):
        degrade(pairs, max_pairs=0)


def test_pairs_carry_the_gold_margin(tmp_path):
    path, _ = _samples(tmp_path)
    answers = labelled_answers(path, "rule", rule=RULE, augment=AUGMENT, seed=1)
    for p in pairs_from_answers(answers, max_per_prompt=8, seed=0):
        label = {a["response"]: a["label"] for a in answers[p["prompt_id"]]}
        assert p["margin"] == pytest.approx(label[p["chosen"]] - label[p["rejected"]]) and p["margin"] > 0
