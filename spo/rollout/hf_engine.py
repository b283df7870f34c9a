"""Hugging Face ``transformers`` engine for CPU (and small GPU) rollouts.

Prompts are wrapped in the tokenizer's chat template and sampled in batches with
``n`` return sequences each (temperature 0 means greedy). Log-prob sums are taken from the raw (unwarped)
logits, so they are the policy's own log-probabilities of the sampled tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from transformers import AutoModelForCausalLM

from spo.chat import chat_prompt, load_tokenizer
from spo.rollout.base import Completion, Engine, SamplingParams, text_logprob


class HFEngine(Engine):
    """Batched sampling with ``model.generate``; weights updated in place."""

    embeds = True  # reads its embedding of a prompt (difficulty.features=policy)

    def __init__(self, model_path: str, batch_size: int = 32, trust_remote_code: bool = False):
        self.tokenizer = load_tokenizer(model_path, trust_remote_code)
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=torch.float32, trust_remote_code=trust_remote_code, use_safetensors=True
        ).eval()
        self.batch_size = batch_size

    @torch.no_grad()
    def generate(self, prompts: list[str], sampling: SamplingParams) -> list[list[Completion]]:
        out: list[list[Completion]] = []
        gen = torch.Generator().manual_seed(sampling.seed)
        for start in range(0, len(prompts), self.batch_size):
            batch = prompts[start : start + self.batch_size]
            # generate() draws from the global RNG; seed it from our per-call stream.
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            out.extend(self._generate_batch(batch, sampling))
        return out

    def _generate_batch(self, prompts: list[str], sampling: SamplingParams) -> list[list[Completion]]:
        tok = self.tokenizer
        enc = tok([chat_prompt(tok, p) for p in prompts], return_tensors="pt", padding=True, add_special_tokens=False)
        greedy = sampling.temperature == 0
        n = 1 if greedy else sampling.n  # generate refuses several greedy sequences: they are all the same
        res = self.model.generate(
            **enc,
            do_sample=not greedy,
            temperature=None if greedy else sampling.temperature,
            top_p=None if greedy else sampling.top_p,
            top_k=None if greedy else 0,
            max_new_tokens=sampling.max_new_tokens,
            num_return_sequences=n,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
            return_dict_in_generate=True,
            output_logits=True,
        )
        new = res.sequences[:, enc["input_ids"].shape[1] :]
        logits = torch.stack(res.logits, dim=1).float()  # (rows, steps, vocab), unwarped
        token_lp = torch.log_softmax(logits, dim=-1).gather(-1, new[:, : logits.shape[1], None]).squeeze(-1)
        is_eos = new == tok.eos_token_id
        has_eos = is_eos.any(dim=1)
        first_eos = torch.where(
            has_eos, is_eos.float().argmax(dim=1), torch.full_like(has_eos, new.shape[1], dtype=torch.long)
        )
        lengths = torch.where(has_eos, first_eos + 1, first_eos)
        keep = torch.arange(new.shape[1])[None, :] < lengths[:, None]
        lp_sums = (token_lp * keep).sum(dim=1)
        texts = tok.batch_decode([row[: int(first_eos[i])] for i, row in enumerate(new)], skip_special_tokens=True)
        completions = [
            Completion(
                text=texts[i],
                n_tokens=int(lengths[i]),
                logprob_sum=text_logprob(tok, texts[i], new[i, : int(lengths[i])].tolist(), lp_sums[i], True)
                if has_eos[i]  # a cut answer: generate gives no log-prob of the EOS the learner adds
                else None,
                finish_reason="stop" if bool(has_eos[i]) else "length",
            )
            for i in range(new.shape[0])
        ]
        return [[completions[j * n + k % n] for k in range(sampling.n)] for j in range(len(prompts))]

    @torch.no_grad()
    def embed(self, prompts: list[str]) -> np.ndarray:
        """The last layer's hidden state, averaged over each chat-templated prompt's tokens."""
        tok, out = self.tokenizer, []
        for start in range(0, len(prompts), self.batch_size):
            batch = [chat_prompt(tok, p) for p in prompts[start : start + self.batch_size]]
            enc = tok(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            hidden = self.model.base_model(**enc).last_hidden_state
            mask = enc["attention_mask"][..., None].to(hidden.dtype)
            out.append(((hidden * mask).sum(1) / mask.sum(1)).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size))

    @torch.no_grad()
    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        params = dict(self.model.named_parameters(remove_duplicate=False))
        seen = set()
        for name, tensor in named_tensors:
            if name not in params:
                raise KeyError(f"load_weights: the policy has no parameter {name!r}")
            params[name].copy_(tensor.to(params[name].dtype))
            seen.add(name)
        unique = {n for n, _ in self.model.named_parameters()}
        missing = unique - seen
        if missing:
            raise KeyError(f"load_weights: no tensor for {sorted(missing)[:5]} ({len(missing)} missing)")
