"""Tokenise preference pairs and compute summed sequence log-probs.

Chosen and rejected responses are stacked into one batch so that one forward
pass scores both. Only response tokens (and the closing EOS) count. With
``share_prompt``, a pair is one row instead, and with ``padding_free`` a whole
micro-batch is one row without padding (:mod:`spo.learner.shared_prompt`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spo.learner.device import to_model
from spo.learner.shared_prompt import one_row, one_row_logprobs, pack_pairs, shared_prompt_logprobs
from spo.learner.tokens import prompt_ids, response_ids


@dataclass
class TokenizedBatch:
    """Right-padded ``input_ids`` with the mask of response positions to score."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    response_mask: torch.Tensor  # aligned with input_ids[:, 1:]


def tokenize(tokenizer, prompts: list[str], responses: list[str]) -> TokenizedBatch:
    """Prompt (with chat template) + response + EOS, right-padded."""
    ids, starts = [], []
    for prompt, response in zip(prompts, responses):
        p, r = prompt_ids(tokenizer, prompt), response_ids(tokenizer, response)
        ids.append(p + r)
        starts.append(len(p))
    width = max(map(len, ids))
    lengths = torch.tensor([len(x) for x in ids])
    input_ids = torch.tensor([x + [tokenizer.pad_token_id] * (width - len(x)) for x in ids])
    attention_mask = (torch.arange(width)[None, :] < lengths[:, None]).long()
    pos = torch.arange(1, width)[None, :]
    response_mask = (pos >= torch.tensor(starts)[:, None]) & (pos < lengths[:, None])
    return TokenizedBatch(input_ids, attention_mask, response_mask)


def sequence_logprobs(model, batch: TokenizedBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the sum of the response tokens' log-probs, and the number of response tokens.

    Logits are computed only from the first response position of the batch on (``logits_to_keep``),
    so the vocabulary projection and softmax skip the prompts, which hold most of the tokens.
    """
    first = int(batch.response_mask.float().argmax(dim=-1).min())  # on the CPU, where the batch was built
    keep = batch.input_ids.shape[1] - first
    batch, _ = to_model(batch, model)
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, logits_to_keep=keep).logits
    logits = logits[:, :-1].float()
    token_lp = torch.log_softmax(logits, dim=-1).gather(-1, batch.input_ids[:, first + 1 :, None]).squeeze(-1)
    mask = batch.response_mask[:, first:]
    return (token_lp * mask).sum(dim=-1), mask.sum(dim=-1).float()


def response_logprobs(model, tokenizer, prompts: list[str], responses: list[str]):
    """Summed log-probs and token counts of ``responses`` given ``prompts``."""
    return sequence_logprobs(model, tokenize(tokenizer, prompts, responses))


def pair_logprobs(model, tokenizer, prompts: list[str], chosen: list[str], rejected: list[str],
                  layout: str = "two_rows"):  # fmt: skip
    """Chosen and rejected summed log-probs and token counts, from one forward pass. ``layout`` (the learner
    config's): ``two_rows``, chosen and rejected rows stacked; ``shared_prompt``, one row per pair, the prompt's
    tokens once, both responses after it; ``one_row``, every pair in one row without padding."""
    if layout == "two_rows":
        lp, n_tok = response_logprobs(model, tokenizer, prompts + prompts, chosen + rejected)
        n = len(prompts)
        return lp[:n], lp[n:], n_tok[:n], n_tok[n:]
    packed = pack_pairs(tokenizer, prompts, chosen, rejected)
    return one_row_logprobs(model, one_row(packed)) if layout == "one_row" else shared_prompt_logprobs(model, packed)
