"""The hf_shared engine against plain ``generate`` and a teacher-forced pass, on the tiny policy."""

import pytest
import torch

from spo.chat import chat_prompt
from spo.rollout.base import SamplingParams, text_logprob
from spo.rollout.hf_engine import HFEngine
from spo.rollout.hf_shared_engine import HFSharedEngine
from spo.rollout.shared_prefix import sample_shared, split_common_prefix
from spo.tasks import sort_digits

PROMPTS = [r["prompt"] for r in sort_digits.generate_prompts(10, seed=11, min_len=2, max_len=7)]


@pytest.fixture(scope="module")
def engines(tiny_policy):
    return HFEngine(tiny_policy, batch_size=4), HFSharedEngine(tiny_policy, batch_size=4)


def teacher_forced_logprob(engine, prompt: str, text_ids: list[int]) -> float:
    tok = engine.tokenizer
    ids = tok(chat_prompt(tok, prompt), add_special_tokens=False).input_ids
    full = torch.tensor([ids + text_ids])
    with torch.no_grad():
        logits = engine.model(full).logits[0, len(ids) - 1 : -1].float()
    return float(torch.log_softmax(logits, -1).gather(-1, torch.tensor(text_ids)[:, None]).sum())


def test_greedy_output_equals_generate(engines):
    plain, shared = engines
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=12)
    a, b = plain.generate(PROMPTS, greedy), shared.generate(PROMPTS, greedy)
    assert [[c.text for c in g] for g in a] == [[c.text for c in g] for g in b]
    assert [[c.n_tokens for c in g] for g in a] == [[c.n_tokens for c in g] for g in b]
    assert [[c.finish_reason for c in g] for g in a] == [[c.finish_reason for c in g] for g in b]
    for ga, gb in zip(a, b):
        for ca, cb in zip(ga, gb):
            if ca.finish_reason == "stop":
                assert cb.logprob_sum == pytest.approx(ca.logprob_sum, abs=1e-4)
            else:  # generate gives no log-prob of the EOS the learner adds after a cut answer; hf_shared does
                assert ca.logprob_sum is None and cb.logprob_sum is not None
    assert {c.finish_reason for g in a for c in g} == {"stop", "length"}
    several = SamplingParams(n=3, temperature=0.0, max_new_tokens=12)
    for engine in engines:  # n greedy answers per prompt: the same answer n times, from either engine
        groups = engine.generate(PROMPTS[:3], several)
        assert [[c.text for c in g] for g in groups] == [[g[0].text] * 3 for g in a[:3]]


def test_sampled_logprobs_match_a_teacher_forced_pass_and_seeds_repeat(engines):
    _, shared = engines
    params = SamplingParams(n=4, temperature=0.9, top_p=0.95, max_new_tokens=10, seed=5)
    groups = shared.generate(PROMPTS, params)
    assert groups == shared.generate(PROMPTS, params)
    assert groups != shared.generate(PROMPTS, SamplingParams(**{**params.__dict__, "seed": 6}))
    tok = shared.tokenizer
    finish = set()
    for prompt, group in zip(PROMPTS, groups):
        assert len(group) == 4 and len({c.text for c in group}) > 1
        for c in group:
            ids = tok(c.text, add_special_tokens=False).input_ids
            assert len(ids) + (c.finish_reason == "stop") == c.n_tokens  # the text re-encodes to the sampled tokens
            # what the learner scores: the answer and EOS, which a cut answer never sampled
            scored = teacher_forced_logprob(shared, prompt, ids + [tok.eos_token_id])
            assert c.logprob_sum == pytest.approx(scored, abs=1e-4)
            finish.add(c.finish_reason)
    assert finish == {"stop", "length"}  # rows that stopped early were dropped, others ran to the limit


def test_an_answer_whose_text_does_not_re_encode_to_its_tokens_has_no_logprob(engines):
    tok = engines[0].tokenizer
    ids = tok("1 3 7", add_special_tokens=False).input_ids
    assert text_logprob(tok, tok.decode(ids), ids + [tok.eos_token_id], -2.5, True) == -2.5
    assert text_logprob(tok, tok.decode(ids), ids, -2.0, False) == -2.0  # cut at the limit: no EOS
    lone = tok("\u00e9", add_special_tokens=False).input_ids  # one character, several byte-level tokens
    assert len(lone) > 1, "the tiny tokenizer should split a non-ASCII character into byte tokens"
    broken = [lone[0], *ids]  # half a character, then digits: decodes to U+FFFD and does not re-encode
    assert text_logprob(tok, tok.decode(broken), broken + [tok.eos_token_id], -9.0, True) is None


def test_the_common_prefix_prefilled_once_gives_the_answers_of_a_full_prefill(engines):
    """The batch's shared tokens (here the chat template's and the task's) prefilled once, then each prompt's own:
    the same answers and log-probs as prefilling every prompt whole, for the same random numbers."""
    _, shared = engines
    tok = shared.tokenizer
    rows = tok([chat_prompt(tok, p) for p in PROMPTS[:4]], add_special_tokens=False)["input_ids"]
    prefix, ids, mask = split_common_prefix(rows, tok.pad_token_id)
    assert len(prefix) >= 3
    whole = tok([chat_prompt(tok, p) for p in PROMPTS[:4]], return_tensors="pt", padding=True, add_special_tokens=False)
    args = (4, 0.9, 0.95, 10, tok.eos_token_id)
    a = sample_shared(shared.model, ids, mask, *args, torch.Generator().manual_seed(3), tok.pad_token_id, prefix)
    b = sample_shared(shared.model, whole["input_ids"], whole["attention_mask"], *args,
                      torch.Generator().manual_seed(3), tok.pad_token_id)  # fmt: skip
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.lengths, b.lengths)
    assert torch.allclose(a.logprob_sums, b.logprob_sums, atol=1e-4)
