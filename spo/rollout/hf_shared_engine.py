"""``hf_shared``: the Hugging Face engine with one prefill per prompt for its N samples.

Same model, tokenizer, chat template and weight updates as :class:`~spo.rollout.hf_engine.HFEngine`;
only the sampling loop differs (:func:`spo.rollout.shared_prefix.sample_shared`). Greedy output
equals ``generate``'s; sampling is seeded by the call's seed alone.
"""

from __future__ import annotations

import torch

from spo.chat import chat_prompt
from spo.rollout.base import Completion, SamplingParams, text_logprob
from spo.rollout.hf_engine import HFEngine
from spo.rollout.shared_prefix import sample_shared, split_common_prefix


class HFSharedEngine(HFEngine):
    """Prefill once (the batch's common prefix once for all), fork the KV cache N ways, drop finished rows, top-p
    within the top 64."""

    @torch.no_grad()
    def generate(self, prompts: list[str], sampling: SamplingParams) -> list[list[Completion]]:
        gen = torch.Generator().manual_seed(sampling.seed)
        out: list[list[Completion]] = []
        for start in range(0, len(prompts), self.batch_size):
            out.extend(self._sample_batch(prompts[start : start + self.batch_size], sampling, gen))
        return out

    def _sample_batch(self, prompts: list[str], sampling: SamplingParams, gen) -> list[list[Completion]]:
        tok = self.tokenizer
        rows = tok([chat_prompt(tok, p) for p in prompts], add_special_tokens=False)["input_ids"]
        prefix, ids, mask = split_common_prefix(rows, tok.pad_token_id)
        s = sample_shared(self.model, ids, mask, sampling.n, sampling.temperature, sampling.top_p,
                          sampling.max_new_tokens, tok.eos_token_id, gen, tok.pad_token_id, prefix)  # fmt: skip
        text_lengths = s.lengths - s.stopped.long()  # the EOS token is counted, not decoded
        texts = tok.batch_decode([row[: int(k)] for row, k in zip(s.tokens, text_lengths)], skip_special_tokens=True)
        scored = torch.where(s.stopped, s.logprob_sums, s.logprob_sums + s.eos_logprobs)  # answer + EOS
        done = [
            Completion(text=text, n_tokens=int(k), finish_reason="stop" if stop else "length",
                       logprob_sum=text_logprob(tok, text, row[: int(k)].tolist(), lp, stop))
            for text, row, k, lp, stop in zip(texts, s.tokens, s.lengths, scored.tolist(), s.stopped.tolist())
        ]  # fmt: skip
        n = sampling.n
        return [done[j * n : (j + 1) * n] for j in range(len(prompts))]
