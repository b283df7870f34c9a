"""Sampling N answers per prompt with one prefill: the loop of the ``hf_shared`` engine.

The tokens every prompt of a batch starts with (a chat template's system prompt and turn header: 24 of
SmolLM2's 43-72 prompt tokens) are prefilled once for the whole batch (:func:`split_common_prefix`), then
each prompt's own tokens after them; the batch's rows are ``[prefix | padding | own tokens]``.

``model.generate(num_return_sequences=n)`` copies each prompt n times before the prefill, keeps
finished rows in the batch until the longest one ends, and sorts the whole vocabulary for top-p at
every step. This loop prefills each prompt once (vocabulary logits at its last position only) and copies
its KV cache n ways (``DynamicCache.batch_repeat_interleave``), drops finished rows from the batch and the cache, and
applies nucleus sampling within the ``TOP_K`` most likely tokens when they hold the nucleus (which
is exact: otherwise that row falls back to the top ``WIDE_K``, a partial sort, then to the full sort; the
draws, and the random numbers they use, are those of a full sort). Log-probs are those of the sampled tokens
under the unwarped distribution (temperature 1, no truncation), as a teacher-forced pass gives; a row cut
at the length limit also gets the log-prob of EOS after its last token (one more step for those rows
alone), since the learner scores every answer followed by EOS.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import DynamicCache

from spo.chat import common_prefix_length

TOP_K = 64  # candidate set for nucleus sampling; rows whose nucleus is larger use the top WIDE_K
WIDE_K = 1024  # the candidates of a wide row; rows whose nucleus is larger still use the full vocabulary


@dataclass
class Sampled:
    """Per row (prompt-major, n rows per prompt): tokens (padded), lengths, log-prob sums, stop flags, and the
    log-prob of EOS after a row cut at the limit (NaN for a row that stopped)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    logprob_sums: torch.Tensor
    stopped: torch.Tensor
    eos_logprobs: torch.Tensor


def nucleus_sample(logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """One token per row, from softmax(logits / temperature) truncated to its top-p nucleus.

    The nucleus keeps each token whose more likely tokens hold less than ``top_p`` of the mass (as
    transformers' ``TopPLogitsWarper``); it is found among the top ``TOP_K`` when they hold ``top_p``.
    """
    scaled = logits / temperature
    if top_p >= 1.0:
        return torch.multinomial(torch.softmax(scaled, dim=-1), 1, generator=gen).squeeze(-1)
    k = min(TOP_K, scaled.shape[-1])
    values, index = scaled.topk(k, dim=-1)
    lse = torch.logsumexp(scaled, dim=-1, keepdim=True)
    probs = torch.exp(values - lse)
    wide = probs.sum(-1) < top_p  # the nucleus reaches beyond the top k
    if wide.any():
        wide_index, wide_probs = _wide_candidates(scaled[wide], lse[wide], top_p)
        picked = _pick(wide_probs, top_p, gen)
        out = torch.empty(scaled.shape[0], dtype=torch.long)
        out[wide] = wide_index.gather(-1, picked[:, None]).squeeze(-1)
        if (~wide).any():
            out[~wide] = index[~wide].gather(-1, _pick(probs[~wide], top_p, gen)[:, None]).squeeze(-1)
        return out
    return index.gather(-1, _pick(probs, top_p, gen)[:, None]).squeeze(-1)


def _wide_candidates(scaled: torch.Tensor, lse: torch.Tensor, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and probabilities, most likely first, of rows whose nucleus is beyond the top ``TOP_K`` (``lse``:
    each row's logsumexp): the top ``WIDE_K`` then zeros when they hold ``top_p`` (a partial sort), else the whole
    sorted vocabulary.

    The probabilities are as wide as the vocabulary either way, so the draw uses as many random numbers as a full
    sort's and the stream of the rows after it is unchanged; the ids are as wide only when a row needs the full sort
    (nothing is drawn where the probability is zero)."""
    k = min(WIDE_K, scaled.shape[-1])
    values, index = scaled.topk(k, dim=-1)
    probs = torch.zeros_like(scaled)
    probs[:, :k] = torch.exp(values - lse)
    beyond = probs[:, :k].sum(-1) < top_p
    if beyond.any():
        index = torch.cat([index, index.new_zeros(index.shape[0], scaled.shape[-1] - k)], dim=-1)
        values, index[beyond] = scaled[beyond].sort(dim=-1, descending=True)
        probs[beyond] = torch.softmax(values, dim=-1)
    return index, probs


def _pick(sorted_probs: torch.Tensor, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """Positions drawn from descending ``sorted_probs`` restricted to the nucleus."""
    before = sorted_probs.cumsum(-1) - sorted_probs
    kept = sorted_probs.masked_fill(before >= top_p, 0.0)
    kept[:, 0] = sorted_probs[:, 0]  # always keep the most likely token
    return torch.multinomial(kept, 1, generator=gen).squeeze(-1)


def _next_token(logits, temperature, top_p, gen):
    if temperature == 0:
        return logits.argmax(-1)
    return nucleus_sample(logits, temperature, top_p, gen)


def split_common_prefix(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(prefix, input_ids, attention_mask)``: the tokens all of several rows start with (each row keeps at least
    one token of its own; none for a single row), and the rest of each row, left-padded."""
    k = common_prefix_length(rows)
    width = max(len(r) for r in rows) - k
    ids = torch.tensor([[pad_id] * (width - len(r) + k) + r[k:] for r in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r) + k) + [1] * (len(r) - k) for r in rows], dtype=torch.long)
    return torch.tensor(rows[0][:k], dtype=torch.long), ids, mask


def _prefill(model, prefix, input_ids, attention_mask, cache):
    """Next-token logits of each row and the rows' attention mask, the prefix's columns included: the prefix once
    (one row), its cache copied to every row, then each row's own tokens."""
    k = len(prefix)
    if k:
        model(input_ids=prefix[None], past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache.batch_repeat_interleave(input_ids.shape[0])
    mask = torch.cat([attention_mask.new_ones(attention_mask.shape[0], k), attention_mask], dim=1)
    position = (mask.long().cumsum(-1) - 1).clamp(min=0)[:, k:]
    out = model(input_ids=input_ids, attention_mask=mask, position_ids=position,
                past_key_values=cache, use_cache=True, logits_to_keep=1)  # fmt: skip
    return out.logits[:, -1, :].float(), mask


@torch.no_grad()
def sample_shared(
    model, input_ids, attention_mask, n: int, temperature: float, top_p: float, max_new_tokens: int, eos_id: int,
    gen: torch.Generator, pad_id: int = 0, prefix: torch.Tensor | None = None,
) -> Sampled:  # fmt: skip
    """``n`` answers per left-padded prompt row, each row preceded by ``prefix`` (token ids, if any); prompt-major
    rows (prompt 0's n answers first)."""
    cache = DynamicCache()
    logits, mask = _prefill(model, input_ids.new_zeros(0) if prefix is None else prefix, input_ids, attention_mask,
                            cache)  # fmt: skip
    logits = logits.repeat_interleave(n, dim=0)
    cache.batch_repeat_interleave(n)
    mask = mask.repeat_interleave(n, dim=0)
    rows = mask.shape[0]
    tokens = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long)
    lengths = torch.zeros(rows, dtype=torch.long)
    lp_sums = torch.zeros(rows, dtype=torch.float64)
    stopped = torch.zeros(rows, dtype=torch.bool)
    eos_lp = torch.full((rows,), float("nan"), dtype=torch.float64)
    alive = torch.arange(rows)  # original row of each batch row
    for step in range(max_new_tokens + 1):
        if step == max_new_tokens:  # the rows cut at the limit: what EOS would have scored next
            eos_lp[alive] = torch.log_softmax(logits, dim=-1)[:, eos_id].double()
            break
        tok = _next_token(logits, temperature, top_p, gen)
        lp_sums[alive] += torch.log_softmax(logits, dim=-1).gather(-1, tok[:, None]).squeeze(-1).double()
        tokens[alive, step] = tok
        lengths[alive] = step + 1
        done = tok == eos_id
        stopped[alive[done]] = True
        if bool(done.all()):
            break
        if done.any():
            keep = (~done).nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            alive, tok, mask = alive[keep], tok[keep], mask[keep]
        position = mask.sum(-1, keepdim=True)
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        out = model(input_ids=tok[:, None], attention_mask=mask, position_ids=position,
                    past_key_values=cache, use_cache=True)  # fmt: skip
        logits = out.logits[:, -1, :].float()
    return Sampled(tokens, lengths, lp_sums, stopped, eos_lp)
