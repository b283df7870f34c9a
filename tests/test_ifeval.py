"""ifeval_lite's checkers, prompts and reward; the GGUF conversion; the Bradley-Terry RM trainer."""

import pytest
import torch
from tiny_gguf import write_gguf
from transformers import AutoModelForCausalLM, AutoTokenizer

from spo.tasks import ifeval_lite as ie
from spo.tasks import sort_digits

C = ie.make_constraint
CASES = [  # (constraint, response, satisfied)
    (C("lowercase"), "the sea is calm tonight.", True),
    (C("lowercase"), "The sea is calm.", False),
    (C("lowercase"), "123 !!", False),
    (C("uppercase"), "THE SEA IS CALM.", True),
    (C("uppercase"), "THE SEA is calm.", False),
    (C("include_word", "blue"), "A Blue whale swims.", True),
    (C("include_word", "blue"), "Bluebells bloom.", False),
    (C("no_commas"), "No commas here.", True),
    (C("no_commas"), "Well, yes.", False),
    (C("max_words", 5), "One two three four five.", True),
    (C("max_words", 5), "One two three four five six.", False),
    (C("max_words", 5), "", False),
    (C("start_with", "Today"), '"Today, the sun rose."', True),
    (C("start_with", "Today"), "The sun rose today.", False),
    (C("end_with", "now"), "Come home now!", True),
    (C("end_with", "now"), "Now come home.", False),
    (C("bullets", 2), "Facts:\n- one\n- two", True),
    (C("bullets", 2), "- one\n- two\n* three", False),
    (C("bullets", 3), "-one\n-two\n-three", False),
    (C("quotes"), '"A quoted answer."', True),
    (C("quotes"), '"Half quoted.', False),
    (C("json"), '{"answer": "tea"}', True),
    (C("json"), '```json\n["a", "b"]\n```', True),
    (C("json"), "{answer: tea}", False),
]


@pytest.mark.parametrize(
    "constraint,response,ok", CASES, ids=[f"{c.kind}-{ok}-{i}" for i, (c, _, ok) in enumerate(CASES)]
)
def test_constraint_checkers(constraint, response, ok):
    assert ie.check(constraint, response) is ok


def test_every_constraint_kind_has_positive_and_negative_cases():
    kinds = {(c.kind, ok) for c, _, ok in CASES}
    assert kinds == {(k, ok) for k in ie.KINDS for ok in (True, False)}


def test_prompts_are_seeded_distinct_and_state_readable_constraints():
    a, b = ie.generate_prompts(3000, seed=7), ie.generate_prompts(3000, seed=7)
    assert a == b and a != ie.generate_prompts(3000, seed=8)
    assert len({r["prompt"] for r in a}) == len({r["prompt_id"] for r in a}) == 3000
    counts = {len(ie.constraints_of(r["prompt"])) for r in a}
    assert counts == {1, 2, 3}
    for r in a[:300]:
        kinds = [c.kind for c in ie.constraints_of(r["prompt"])]
        assert not any({x, y} in ie.CONFLICTS for x in kinds for y in kinds)
        assert all(c.text in r["prompt"] for c in ie.constraints_of(r["prompt"]))


def test_train_and_heldout_splits_are_disjoint():
    from spo.config import TaskConfig
    from spo.data.prompts import load_prompts

    train, heldout = load_prompts(TaskConfig(name="ifeval_lite", n_train=1000, n_heldout=100, seed=3))
    assert len(train) == 1000 and len(heldout) == 100
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in heldout}
    assert not {r["prompt_id"] for r in train} & {r["prompt_id"] for r in heldout}


def test_reward_is_fraction_satisfied_with_empty_and_truncation_penalties():
    prompt = "Describe tea in two sentences. Do not use any commas. Include the word 'warm'."
    assert ie.reward(prompt, "Tea is warm and calm.") == 1.0
    assert ie.reward(prompt, "Tea, hot and calm.") == 0.0
    assert ie.reward(prompt, "Tea is warm, and calm.") == 0.5
    assert ie.reward(prompt, "   ") == 0.0
    assert ie.reward(prompt, "Tea is warm and", finish_reason="length") == pytest.approx(0.8)
    with pytest.raises(ValueError, match="no constraint found"):
        ie.reward("Just chat.", "ok")


def test_pass_rates_count_each_constraint():
    prompts = ["Say hi. Do not use any commas.", "Say hi. Do not use any commas. Answer in valid JSON."]
    rates = ie.pass_rates(prompts, ["hi there", "hi, there"])
    assert rates == {"no_commas": (1, 2), "json": (0, 1)}


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


def test_prepare_refuses_unknown_models_and_missing_packages(tmp_path):
    from spo import models

    with pytest.raises(KeyError, match="unknown model 'gpt5'"):
        models.prepare("gpt5", tmp_path)
    with pytest.raises(FileNotFoundError, match="is not installed"):
        models.locate(models.PackagedModel("nope-pkg==1", "nope_pkg_spo", "x"), install=False)


def test_bradley_terry_reward_model_learns_rule_labelled_pairs(tmp_path, tiny_policy):
    from transformers import BertConfig, BertForSequenceClassification

    from spo.reward.rm_train import train_reward_model

    tok = AutoTokenizer.from_pretrained(tiny_policy)
    base = tmp_path / "bert"
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id)  # fmt: skip
    BertForSequenceClassification(cfg).save_pretrained(base)
    tok.save_pretrained(base)
    rows = sort_digits.generate_prompts(160, seed=4, min_len=3, max_len=6)
    pairs = [{"prompt_id": r["prompt_id"], "prompt": r["prompt"], "chosen": sort_digits.solution(r["prompt"]),
              "rejected": "9 9 9 9 9 9"} for r in rows]  # fmt: skip
    result = train_reward_model(pairs, str(base), tiny_policy, tmp_path / "rm", epochs=4, lr=1e-3, batch_size=16)
    losses = result["epoch_loss"]
    assert losses[-1] < losses[0] * 0.7, losses
    assert result["heldout_accuracy"] > result["heldout_accuracy_before"] and result["heldout_accuracy"] >= 0.8
    assert result["heldout_pairs"] + result["train_pairs"] == 160
    from spo.reward.sequence_classifier import SequenceClassifierScorer

    scorer = SequenceClassifierScorer(str(tmp_path / "rm"), policy_path=tiny_policy)
    good, bad = scorer.score([pairs[0]["prompt"]] * 2, [pairs[0]["chosen"], pairs[0]["rejected"]])
    assert good > bad


def test_run_report_lists_constraint_pass_rates_first_and_last_policy(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    from spo.analysis.report import constraint_pass_rates

    (tmp_path / "eval").mkdir()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"task": {"name": "ifeval_lite"}}))
    prompts = ["Say hi. Do not use any commas.", "Say hi. Answer in valid JSON."]
    for v, responses in ((0, ["hi, you", "hi"]), (1, ["hi you", "hi"]), (2, ["hi you", '{"a": 1}'])):
        pq.write_table(pa.table({"prompt": prompts, "response": responses}), tmp_path / "eval" / f"policy_v{v}.parquet")
    lines = constraint_pass_rates(tmp_path, {"task": {"name": "ifeval_lite"}})
    assert "| policy v0 | policy v2 |" in lines[2]
    assert "| json | 1 | 0.00 | 1.00 |" in lines and "| no_commas | 1 | 0.00 | 1.00 |" in lines
    assert constraint_pass_rates(tmp_path, {"task": {"name": "sort_digits"}}) == []
