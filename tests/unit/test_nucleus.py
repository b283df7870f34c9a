"""The shared-prefix engine's nucleus sampling draws from transformers' top-p distribution exactly; its split of a batch
into the common prefix and each row's own tokens."""

import pytest
import torch
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from spo.rollout.shared_prefix import TOP_K, WIDE_K, _pick, nucleus_sample, split_common_prefix


def reference_probs(logits, temperature, top_p):
    scores = TemperatureLogitsWarper(temperature)(None, logits.clone())
    scores = TopPLogitsWarper(top_p)(None, scores)
    return torch.softmax(scores, dim=-1)


@pytest.mark.parametrize(
    "vocab,spread,top_p",
    [(12, 3.0, 0.9), (12, 3.0, 1.0), (500, 0.05, 0.95), (300, 2.0, 0.5), (3000, 2.0, 0.95), (3000, 0.5, 0.95)],
)
def test_draws_follow_the_top_p_distribution_of_transformers(vocab, spread, top_p):
    torch.manual_seed(vocab)
    logits = torch.randn(1, vocab) * spread
    expected = reference_probs(logits, 0.8, top_p)[0]
    if spread < 1:  # a flat distribution: the nucleus holds more than the top 64 (vocab 3000: than the top 1024)
        assert int((expected > 0).sum()) > (WIDE_K if vocab > WIDE_K else TOP_K)
    if spread == 2.0 and vocab == 3000:  # beyond the top 64, within the top 1024: the partial sort
        assert TOP_K < int((expected > 0).sum()) < WIDE_K
    draws = nucleus_sample(logits.expand(40_000, vocab), 0.8, top_p, torch.Generator().manual_seed(1))
    freq = torch.bincount(draws, minlength=vocab).double() / len(draws)
    assert set(draws.unique().tolist()) <= set((expected > 0).nonzero().squeeze(-1).tolist())
    # within 5 standard errors of each token's expected frequency
    se = (expected * (1 - expected) / len(draws)).sqrt().double()
    assert torch.all((freq - expected.double()).abs() <= 5 * se + 1e-9)


def test_rows_with_narrow_and_wide_nuclei_in_one_batch():
    torch.manual_seed(0)
    narrow, wide = torch.randn(1, 400) * 4, torch.randn(1, 400) * 0.01
    logits = torch.cat([narrow.expand(20_000, 400), wide.expand(20_000, 400)])
    draws = nucleus_sample(logits, 1.0, 0.9, torch.Generator().manual_seed(2))
    for part, source in ((draws[:20_000], narrow), (draws[20_000:], wide)):
        allowed = reference_probs(source, 1.0, 0.9)[0] > 0
        assert allowed[part].all()
    assert draws[20_000:].unique().numel() > TOP_K  # the wide rows really sample beyond the top 64


def test_seeded_draws_repeat():
    logits = torch.randn(64, 100)
    a = nucleus_sample(logits, 0.7, 0.95, torch.Generator().manual_seed(3))
    b = nucleus_sample(logits, 0.7, 0.95, torch.Generator().manual_seed(3))
    c = nucleus_sample(logits, 0.7, 0.95, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def full_sort_sample(logits, temperature, top_p, gen):
    """The engine's draw before the partial sort: narrow rows within the top 64, every wide row fully sorted."""
    scaled = logits / temperature
    values, index = scaled.topk(TOP_K, dim=-1)
    probs = torch.exp(values - torch.logsumexp(scaled, dim=-1, keepdim=True))
    wide = probs.sum(-1) < top_p
    out = torch.empty(scaled.shape[0], dtype=torch.long)
    full_values, full_index = scaled[wide].sort(dim=-1, descending=True)
    out[wide] = full_index.gather(-1, _pick(torch.softmax(full_values, dim=-1), top_p, gen)[:, None]).squeeze(-1)
    out[~wide] = index[~wide].gather(-1, _pick(probs[~wide], top_p, gen)[:, None]).squeeze(-1)
    return out


def test_partial_sort_draws_the_tokens_of_the_full_sort():
    """Rows of every kind in one batch (nucleus within the top 64, within the top 1024, beyond): the same seed
    draws the same tokens as sorting each wide row fully, so the random stream is consumed as before."""
    torch.manual_seed(5)
    logits = torch.cat([torch.randn(50, 3000) * s for s in (6.0, 2.0, 0.5)])[torch.randperm(150)]
    for seed in range(5):
        a = nucleus_sample(logits, 0.8, 0.95, torch.Generator().manual_seed(seed))
        b = full_sort_sample(logits, 0.8, 0.95, torch.Generator().manual_seed(seed))
        assert torch.equal(a, b)


def test_split_common_prefix_keeps_a_token_of_each_row_and_left_pads_the_rest():
    prefix, ids, mask = split_common_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]], pad_id=0)
    assert prefix.tolist() == [1, 2]
    assert ids.tolist() == [[3, 4], [0, 5], [0, 3]] and mask.tolist() == [[1, 1], [0, 1], [0, 1]]
    prefix, ids, mask = split_common_prefix([[7, 8, 9], [7, 8, 9]], pad_id=0)  # identical rows keep one token each
    assert prefix.tolist() == [7, 8] and ids.tolist() == [[9], [9]]
    prefix, ids, mask = split_common_prefix([[7, 8, 9]], pad_id=0)  # one row: nothing to share
    assert prefix.tolist() == [] and ids.tolist() == [[7, 8, 9]] and mask.tolist() == [[1, 1, 1]]
    prefix, ids, _ = split_common_prefix([[5, 1], [6, 1]], pad_id=0)
    assert prefix.tolist() == [] and ids.tolist() == [[5, 1], [6, 1]]
