"""ifeval_lite's checkers, prompts and reward; the GGUF conversion; the Bradley-Terry RM trainer."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from tiny_gguf import write_gguf
from transformers import AutoModelForCausalLM, AutoTokenizer

from spo.tasks import ifeval_lite as ie
from spo.tasks import sort_digits

C = ie.make_constraint


def test_gguf_file_converts_to_an_identical_safetensors_checkpoint(tmp_path, tiny_policy, monkeypatch):
    from spo import models

    pkg = tmp_path / "site" / "fake_smol"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    write_gguf(tiny_policy, pkg / "tiny.gguf")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(models.PACKAGED, "fake", models.PackagedModel("fake-smol==0", "fake_smol", "tiny.gguf"))

    out = models.prepare("fake", tmp_path / "cache", install=False)
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["model.safetensors"]
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert models.prepare("fake", tmp_path / "cache", install=False) == out  # idempotent
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp

    ref, conv = AutoModelForCausalLM.from_pretrained(tiny_policy), AutoModelForCausalLM.from_pretrained(out)
    tok_ref, tok_conv = AutoTokenizer.from_pretrained(tiny_policy), AutoTokenizer.from_pretrained(out)
    text = tok_conv.apply_chat_template(
        [{"role": "user", "content": "Sort: 3 1 2"}], add_generation_prompt=True, tokenize=False
    )
    assert text == tok_ref.apply_chat_template(
        [{"role": "user", "content": "Sort: 3 1 2"}], add_generation_prompt=True, tokenize=False
    )
    ids = tok_ref(text, return_tensors="pt", add_special_tokens=False)
    assert tok_conv(text, add_special_tokens=False).input_ids == ids.input_ids[0].tolist()
    torch.testing.assert_close(conv(**ids).logits, ref(**ids).logits)
    greedy = dict(max_new_tokens=8, do_sample=False, pad_token_id=tok_ref.pad_token_id)
    assert conv.generate(**ids, **greedy).tolist() == ref.generate(**ids, **greedy).tolist()


def test_bradley_terry_reward_model_learns_rule_labelled_pairs(tmp_path, tiny_policy):
    from transformers import BertConfig, BertForSequenceClassification

    from spo.reward.rm_train import RewardModelNotBetter, train_reward_model

    tok = AutoTokenizer.from_pretrained(tiny_policy)
    base = tmp_path / "bert"
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id)  # fmt: skip
    BertForSequenceClassification(cfg).save_pretrained(base)
    tok.save_pretrained(base)
    rows = sort_digits.generate_prompts(160, seed=4, min_len=3, max_len=6)
    pairs = [{"prompt_id": r["prompt_id"], "prompt": r["prompt"], "chosen": sort_digits.solution(r["prompt"]),
              "rejected": "9 9 9 9 9 9", "source": "sampled", "difficulty": i % 3} for i, r in enumerate(rows)]  # fmt: skip
    with pytest.raises(RewardModelNotBetter, match="not saved to .*gain CI"):  # lr 0: the model cannot change
        train_reward_model(pairs, str(base), tiny_policy, tmp_path / "rm0", epochs=1, lr=0.0, batch_size=16)
    assert not (tmp_path / "rm0").exists()
    result = train_reward_model(pairs, str(base), tiny_policy, tmp_path / "rm", epochs=8, lr=1e-3, batch_size=16)
    losses = result["epoch_loss"]
    assert losses[-1] < losses[0] * 0.7, losses
    assert result["heldout_accuracy"] > result["heldout_accuracy_before"] and result["heldout_accuracy"] >= 0.8
    assert result["heldout"]["gain_ci"][0] > 0 and result["better"] and result["best_epoch"] >= 1
    assert result["valid_accuracy"][result["best_epoch"]] == max(result["valid_accuracy"])
    assert result["heldout_pairs"] + result["valid_pairs"] + result["train_pairs"] == 160
    assert {"sampled", "third_hard", "third_medium", "third_easy"} <= set(result["heldout_parts"])
    saved = pq.read_table(tmp_path / "rm" / "heldout_pairs.parquet").to_pylist()
    assert len(saved) == result["heldout_pairs"]
    assert sum(r["correct"] for r in saved) / len(saved) == pytest.approx(result["heldout_accuracy"])
    from spo.reward.sequence_classifier import SequenceClassifierScorer

    scorer = SequenceClassifierScorer(str(tmp_path / "rm"), policy_path=tiny_policy)
    good, bad = scorer.score([pairs[0]["prompt"]] * 2, [pairs[0]["chosen"], pairs[0]["rejected"]])
    assert good > bad


def test_a_proxy_of_controlled_quality_from_a_tiny_base_is_measured_against_the_gold(tmp_path, tiny_policy):
    """spo rm tiny-base, then spo rm train with a comparison budget and label noise: the held-out pairs keep
    the gold labels, and the accuracy is broken down by gold difficulty and gold margin."""
    from spo.cli import main

    base = tmp_path / "tiny-rm"
    assert main(["rm", "tiny-base", str(base), "--template", tiny_policy, "--hidden", "64", "--layers", "1"]) == 0
    rows = sort_digits.generate_prompts(120, seed=5, min_len=3, max_len=6)

    def answers(prompt):  # right, short, wrong, reversed: four gold levels
        right = sort_digits.solution(prompt)
        return [right, "1 2", "9 9 9 9 9 9", " ".join(reversed(right.split()))]

    samples = [{"prompt_id": r["prompt_id"], "prompt": r["prompt"], "response": a, "finish_reason": "stop"}
               for r in rows for a in answers(r["prompt"])]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(samples), tmp_path / "samples.parquet")
    out = tmp_path / "proxy"
    args = ["rm", "train", str(tmp_path / "samples.parquet"), "--base", str(base), "--template", tiny_policy,
            "--out", str(out), "--rule", "spo.tasks.sort_digits:reward", "--max-pairs", "200", "--label-noise", "0.25",
            "--epochs", "2", "--lr", "1e-3", "--force", "--json"]  # fmt: skip
    assert main(args) == 0
    result = json.loads((out / "spo_rm_train.json").read_text())
    assert result["train_pairs"] == 200 and result["flipped_train_pairs"] == 50 and result["label_noise"] == 0.25
    parts = result["heldout_parts"]
    assert {"third_hard", "third_easy", "margin_small", "margin_large"} <= set(parts)
    held = pq.read_table(out / "heldout_pairs.parquet").to_pylist()
    assert "flipped" not in held[0] and all(
        sort_digits.reward(r["prompt"], r["chosen"]) > sort_digits.reward(r["prompt"], r["rejected"]) for r in held
    )  # the held-out pairs are gold
