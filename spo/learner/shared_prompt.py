"""One row per preference pair: the prompt's tokens once, then the chosen and the rejected response.

Row ``[prompt | chosen+EOS | rejected+EOS]`` with a block attention mask: prompt and chosen tokens see
what precedes them as usual, rejected tokens see the prompt and the rejected tokens before them, never the
chosen ones, and their positions restart where the prompt ends. Each response token is then predicted
from exactly the context of its own ``[prompt | response]`` sequence (the first rejected token from the
prompt's last position), so the log-probs are those of two separate rows, up to floating-point order,
for ``P + C + R`` tokens instead of ``2P + C + R`` (plus padding) per pair.

:func:`one_row` lays a micro-batch's rows end to end without their padding (``learner.padding_free``): a token
then also sees only its own pair's tokens, and vocabulary logits are computed only where a response token is
predicted. The tokens every pair's prompt starts with (a chat template's system prompt and turn header: 24 of
SmolLM2's 43-72 prompt tokens) are laid once, at the row's start, and every pair sees them; each pair keeps
their positions, so each response is still predicted from its own ``[prompt | response]`` context.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spo.chat import common_prefix_length
from spo.learner.device import to_model
from spo.learner.tokens import prompt_ids, response_ids

PROMPT, CHOSEN, REJECTED, PAD = 0, 1, 2, -1
SHARED = -1  # in a one-row batch, the pair of the prompt prefix every pair shares and sees
MASKABLE = ("sdpa", "eager")  # attention implementations that apply a custom 4D mask (flash kernels take none)


@dataclass
class PackedPairs:
    """Right-padded rows with each token's segment, position and the position whose logits predict it."""

    input_ids: torch.Tensor
    segment: torch.Tensor
    position_ids: torch.Tensor
    source: torch.Tensor  # for each token, the position whose logits predict it (-1 for prompt tokens)


def pack_pairs(tokenizer, prompts: list[str], chosen: list[str], rejected: list[str]) -> PackedPairs:
    """Tokenise each pair as ``prompt + chosen + EOS + rejected + EOS`` (each part on its own, as the
    two-row layout does) into one row."""
    rows = []
    for prompt, c, r in zip(prompts, chosen, rejected):
        rows.append((prompt_ids(tokenizer, prompt), response_ids(tokenizer, c), response_ids(tokenizer, r)))
    width = max(len(p) + len(c) + len(r) for p, c, r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    segment = torch.full((len(rows), width), PAD, dtype=torch.long)
    position = torch.zeros((len(rows), width), dtype=torch.long)
    source = torch.full((len(rows), width), -1, dtype=torch.long)
    for i, (p, c, r) in enumerate(rows):
        n_p, n_c, n_r = len(p), len(c), len(r)
        ids[i, : n_p + n_c + n_r] = torch.tensor(p + c + r)
        segment[i, :n_p], segment[i, n_p : n_p + n_c], segment[i, n_p + n_c : n_p + n_c + n_r] = (
            PROMPT,
            CHOSEN,
            REJECTED,
        )
        position[i, : n_p + n_c] = torch.arange(n_p + n_c)
        position[i, n_p + n_c : n_p + n_c + n_r] = torch.arange(n_p, n_p + n_r)
        source[i, n_p : n_p + n_c + n_r] = torch.arange(n_p - 1, n_p + n_c + n_r - 1)
        source[i, n_p + n_c] = n_p - 1  # the first rejected token follows the prompt, not the chosen response
    return PackedPairs(ids, segment, position, source)


def attention_bias(segment: torch.Tensor, dtype: torch.dtype, pair: torch.Tensor | None = None) -> torch.Tensor:
    """Additive ``(rows, 1, L, L)`` mask: causal, and a response sees the prompt and its own tokens only; with
    ``pair`` (each token's pair, for rows holding several), a token sees its own pair's tokens and the shared prefix
    (pair ``SHARED``) only.
    Padding sees itself alone (a fully masked row would give NaNs)."""
    n = segment.shape[1]
    q, k = segment[:, :, None], segment[:, None, :]
    causal = torch.ones(n, n, dtype=torch.bool, device=segment.device).tril()
    allowed = causal & (k != PAD) & ((k == PROMPT) | (k == q))
    if pair is not None:
        allowed &= (pair[:, :, None] == pair[:, None, :]) | (pair[:, None, :] == SHARED)
    allowed |= torch.eye(n, dtype=torch.bool, device=segment.device) & (q == PAD)
    bias = torch.zeros(allowed.shape, dtype=dtype, device=segment.device).masked_fill(~allowed, torch.finfo(dtype).min)
    return bias[:, None]


def _check_maskable(model) -> None:
    impl = getattr(getattr(model, "module", model).config, "_attn_implementation", None)  # DeepSpeed wraps it
    if impl not in MASKABLE:
        raise ValueError(f"learner.share_prompt needs attention that applies a 4D mask ({', '.join(MASKABLE)}); "
                         f"this model uses {impl!r}: set learner.share_prompt=false")  # fmt: skip


def shared_prompt_logprobs(model, batch: PackedPairs):
    """Chosen and rejected summed log-probs and token counts; logits only from the first position that
    predicts a response token on (``logits_to_keep``)."""
    _check_maskable(model)
    width = batch.input_ids.shape[1]
    first = int(batch.source.masked_fill(batch.source < 0, width).min())  # on the CPU, where it was packed
    batch, dtype = to_model(batch, model)
    logits = model(input_ids=batch.input_ids, attention_mask=attention_bias(batch.segment, dtype),
                   position_ids=batch.position_ids, logits_to_keep=width - first).logits.float()  # fmt: skip
    scored = batch.source >= 0
    src = (batch.source - first).clamp(min=0)
    rows = torch.arange(src.shape[0], device=src.device)[:, None].expand_as(src)
    picked = logits[rows, src, batch.input_ids] - torch.logsumexp(logits, dim=-1)[rows, src]
    out = []
    for seg in (CHOSEN, REJECTED):
        mask = scored & (batch.segment == seg)
        out.append(((picked * mask).sum(-1), mask.sum(-1).float()))
    (pc, nc), (pr, nr) = out
    return pc, pr, nc, nr


@dataclass
class OneRow:
    """Every pair of a micro-batch in one row, without padding: :class:`PackedPairs`' fields (one row) plus each
    token's pair."""

    input_ids: torch.Tensor
    segment: torch.Tensor
    position_ids: torch.Tensor
    source: torch.Tensor
    pair: torch.Tensor


def common_prefix(batch: PackedPairs) -> int:
    """How many leading tokens every row of ``batch`` shares, each row keeping at least one prompt token of its
    own (none for a single row)."""
    n_prompt = (batch.segment == PROMPT).sum(-1).tolist()
    return common_prefix_length([row[:n].tolist() for row, n in zip(batch.input_ids, n_prompt)])


def one_row(batch: PackedPairs) -> OneRow:
    """The rows of ``batch`` laid end to end, their padding dropped, the common prefix once (from the first row;
    sources moved with their row)."""
    k = common_prefix(batch)
    keep = batch.segment != PAD
    keep[1:, :k] = False
    lengths = keep.sum(-1)
    shift = torch.cumsum(lengths, 0) - lengths  # where each row starts in the packed row
    shift[1:] -= k  # rows 1.. start after their prefix: token j of row i sits at shift[i] + j
    source = torch.where(batch.source >= 0, batch.source + shift[:, None], batch.source)
    pair = torch.arange(keep.shape[0])[:, None].expand_as(keep).clone()
    pair[0, :k] = SHARED
    return OneRow(*(t[keep][None] for t in (batch.input_ids, batch.segment, batch.position_ids, source, pair)))


def one_row_logprobs(model, batch: OneRow):
    """:func:`shared_prompt_logprobs` on :func:`one_row`'s layout: no padding, pairs masked from each other,
    and vocabulary logits only at the positions that predict a response token (``logits_to_keep`` as indices)."""
    _check_maskable(model)
    scored = (batch.source[0] >= 0).nonzero().squeeze(-1)  # indices found on the CPU, where it was packed
    pairs = int(batch.pair.max()) + 1
    batch, dtype = to_model(batch, model)
    scored = scored.to(batch.input_ids.device)
    kept = batch.source[0][scored]  # each scored token's predicting position, in token order
    logits = model(input_ids=batch.input_ids, attention_mask=attention_bias(batch.segment, dtype, batch.pair),
                   position_ids=batch.position_ids, logits_to_keep=kept).logits[0].float()  # fmt: skip
    picked = logits.gather(-1, batch.input_ids[0][scored][:, None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)
    pair, segment = batch.pair[0][scored], batch.segment[0][scored]
    out = []
    for seg in (CHOSEN, REJECTED):
        mask = (segment == seg).to(picked.dtype)
        out.append((picked.new_zeros(pairs).index_add_(0, pair, picked * mask),
                    picked.new_zeros(pairs).index_add_(0, pair, mask)))  # fmt: skip
    (pc, nc), (pr, nr) = out
    return pc, pr, nc, nr
