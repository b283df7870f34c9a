"""The learner's sequence log-probs (logits from the first response position on) against one row at a time."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from spo.chat import chat_prompt
from spo.learner.device import to_model
from spo.learner.logprobs import pair_logprobs, tokenize
from spo.learner.shared_prompt import PAD, SHARED, common_prefix, pack_pairs
from spo.learner.shared_prompt import one_row as one_row_layout
from spo.learner.tokens import prompt_ids


def one_row(model, tok, prompt: str, response: str) -> tuple[float, int]:
    p = tok(chat_prompt(tok, prompt), add_special_tokens=False).input_ids
    r = tok(response + tok.eos_token, add_special_tokens=False).input_ids
    logits = model(input_ids=torch.tensor([p + r])).logits[0, len(p) - 1 : -1].float()
    return float(torch.log_softmax(logits, -1).detach().gather(-1, torch.tensor(r)[:, None]).sum()), len(r)


def test_batched_logprobs_equal_unpadded_rows_with_prompts_of_different_lengths(tiny_policy):
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    model = AutoModelForCausalLM.from_pretrained(tiny_policy, dtype=torch.float32).eval()
    prompts = ["Sort: 3 1 2", "Sort: 9 8 7 6 5 4 3 2 1 0 9 8", "Sort: 5"]
    chosen, rejected = ["1 2 3", "0 1 2", "5"], ["3 2 1 0 0 0 0", "9", "5 5 5 5"]
    with torch.no_grad():
        pc, pr, nc, nr = pair_logprobs(model, tok, prompts, chosen, rejected)
        for i, p in enumerate(prompts):
            for lp, n, resp in ((pc, nc, chosen), (pr, nr, rejected)):
                want, count = one_row(model, tok, p, resp[i])
                assert abs(float(lp[i]) - want) < 1e-4 and int(n[i]) == count
    model.train()
    pc, pr, _, _ = pair_logprobs(model, tok, prompts, chosen, rejected)
    (pc - pr).sum().backward()  # the trimmed logits keep the graph to every parameter that matters
    assert model.get_input_embeddings().weight.grad.abs().sum() > 0


def test_shared_prompt_layouts_give_the_two_row_log_probs_and_gradients(tiny_policy):
    """One row per pair (prompt once, the rejected response masked from the chosen one), and every pair in one
    row without padding (pairs masked from each other), score each response as its own [prompt | response]
    row does, and train the same: log-probs and gradients agree."""
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    model = AutoModelForCausalLM.from_pretrained(tiny_policy, dtype=torch.float32)
    prompts = ["Sort: 3 1 2", "Sort: 9 8 7 6 5 4 3 2 1 0 9 8", "Sort: 5", "Sort: 4 4"]
    chosen, rejected = ["1 2 3", "0 1 2", "5", "4 4 4 4 4 4 4 4 4"], ["3 2 1 0 0 0 0", "9", "5 5 5 5", "4"]
    grads = []
    for layout in ("two_rows", "shared_prompt", "one_row"):
        model.zero_grad()
        pc, pr, nc, nr = pair_logprobs(model, tok, prompts, chosen, rejected, layout)
        (torch.nn.functional.logsigmoid(0.1 * (pc - pr)).sum() + 0.01 * pc.sum()).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
        for i, p in enumerate(prompts):
            for lp, n, resp in ((pc, nc, chosen), (pr, nr, rejected)):
                want, count = one_row(model.eval(), tok, p, resp[i])
                assert abs(float(lp[i]) - want) < 1e-4 and int(n[i]) == count, (layout, i)
        model.train()
    assert grads[0].abs().max() > 0
    for other in grads[1:]:
        assert other.shape == grads[0].shape and torch.allclose(grads[0], other, atol=1e-5, rtol=1e-4)


def test_one_row_lays_the_prompts_common_prefix_once(tiny_policy):
    """The tokens every prompt starts with (the chat template's and "Sort: ") sit once at the row's start; each
    pair keeps at least one prompt token of its own. The log-probs and gradients are the two-row layout's (above)."""
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    prompts, chosen, rejected = ["Sort: 3 1 2", "Sort: 3 1", "Sort: 3 1 2"], ["1 2 3", "1 3", "1"], ["3", "3 1", "2 1"]
    packed = pack_pairs(tok, prompts, chosen, rejected)
    ids = [prompt_ids(tok, p) for p in prompts]
    k = next(j for j in range(len(ids[1])) if len({tuple(x[: j + 1]) for x in ids}) > 1)
    assert common_prefix(packed) == k >= 3
    row = one_row_layout(packed)
    assert row.input_ids.shape[1] == int((packed.segment != PAD).sum()) - 2 * k
    assert (row.pair[0, :k] == SHARED).all() and row.input_ids[0, :k].tolist() == ids[0][:k]
    same = pack_pairs(tok, prompts[:1] * 2, chosen[:2], rejected[:2])  # identical prompts keep their last token
    assert common_prefix(same) == len(ids[0]) - 1
    assert common_prefix(pack_pairs(tok, prompts[:1], chosen[:1], rejected[:1])) == 0


def test_shared_prompt_rows_need_attention_that_applies_the_mask(tiny_policy):
    """Eager attention applies the block mask as sdpa does; a flash kernel would ignore it and is refused."""
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    model = AutoModelForCausalLM.from_pretrained(tiny_policy, dtype=torch.float32, attn_implementation="eager")
    args = (["Sort: 3 1 2", "Sort: 5 4"], ["1 2 3", "4 5"], ["3 2 1 1 1", "5"])
    with torch.no_grad():
        two_rows = torch.stack(pair_logprobs(model, tok, *args)[:2])
        for layout in ("shared_prompt", "one_row"):
            assert torch.allclose(two_rows, torch.stack(pair_logprobs(model, tok, *args, layout)[:2]), atol=1e-4)
        model.config._attn_implementation = "flash_attention_2"
        for layout in ("shared_prompt", "one_row"):
            with pytest.raises(ValueError, match="learner.share_prompt needs attention that applies a 4D mask"):
                pair_logprobs(model, tok, *args, layout)


def test_batches_go_to_the_models_device(tiny_policy):
    """The learner builds token batches on the CPU; a model elsewhere (CUDA on a GPU node) gets them on its own
    device. Checked with the real model on PyTorch's meta device, the one non-CPU device a CPU machine has: a
    CPU batch fed to it fails ("Cannot copy out of meta tensor"). The two-row layout's 2D padding mask cannot
    run on meta (transformers reads its values), so that path is checked for the batch it hands the model."""
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    model = AutoModelForCausalLM.from_pretrained(tiny_policy, dtype=torch.float32, attn_implementation="sdpa")
    prompts, chosen, rejected = ["Sort: 3 1 2", "Sort: 5 4"], ["1 2 3", "4 5"], ["3 2 1", "5"]
    meta = model.to("meta")
    for layout in ("shared_prompt", "one_row"):
        pc, pr, nc, nr = pair_logprobs(meta, tok, prompts, chosen, rejected, layout)
        assert {t.device.type for t in (pc, pr, nc, nr)} == {"meta"} and pc.shape == (2,)
    batch = tokenize(tok, prompts + prompts, chosen + rejected)
    moved, dtype = to_model(batch, meta)
    assert {t.device.type for t in vars(moved).values()} == {"meta"} and dtype == torch.float32
    assert {t.device.type for t in vars(batch).values()} == {"cpu"}  # the CPU copy is left as it was
