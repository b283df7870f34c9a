"""ifeval_lite's checkers, prompts and reward; the GGUF conversion; the Bradley-Terry RM trainer."""

import pytest

from spo.tasks import ifeval_lite as ie

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
    (C("max_words", 2), "don't go", False),  # IFEval's words: "don't" is two
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
    from spo.data.config import TaskConfig
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


def test_prepare_refuses_unknown_models_and_missing_packages(tmp_path):
    from spo import models

    with pytest.raises(KeyError, match="unknown model 'gpt5'"):
        models.prepare("gpt5", tmp_path)
    with pytest.raises(FileNotFoundError, match="is not installed"):
        models.locate(models.PackagedModel("nope-pkg==1", "nope_pkg_spo", "x"), install=False)


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
