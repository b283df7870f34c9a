"""Reward models: any ``AutoModelForSequenceClassification`` checkpoint with one output.

The conversation (user prompt, assistant response) is rendered with a chat
template, the policy's by default, then scored in length-sorted batches. The
reward is the first logit. On a GPU the model runs in bf16, on CPU in fp32.
Custom-code models (ArmoRM) load only with ``trust_remote_code: true`` in the
scorer's config.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from spo.chat import turns
from spo.reward.base import Scorer


def render(template, prompt: str | list[dict], response: str) -> str:
    """The conversation (the prompt's turns, then the assistant ``response``) as text, in ``template``'s
    chat template."""
    return template.apply_chat_template([*turns(prompt), {"role": "assistant", "content": response}], tokenize=False)


def encode(tokenizer, texts: list[str]):
    """Rendered conversations as a padded, truncated batch (the template already holds special tokens)."""
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False, truncation=True)


def reward_values(model, enc) -> torch.Tensor:
    """One scalar per row: the ``score`` output of custom-code RMs such as ArmoRM, else the first logit."""
    out = model(**enc)
    values = getattr(out, "score", None)
    return (values if values is not None else out.logits).reshape(enc["input_ids"].shape[0], -1)[:, 0].float()


class SequenceClassifierScorer(Scorer):
    """Scores with an HF sequence-classification reward model."""

    conversational = True

    @classmethod
    def check_config(cls, sc, key):
        cls.require_path(sc, key, "sequence_classifier scorer")

    @classmethod
    def kwargs(cls, sc, ctx):
        return {"path": cls.local(sc.path), "policy_path": ctx.policy_path, "batch_size": sc.batch_size,
                "trust_remote_code": sc.trust_remote_code, "chat_template": sc.chat_template}  # fmt: skip

    def __init__(
        self,
        path: str,
        policy_path: str,
        batch_size: int = 32,
        trust_remote_code: bool = False,
        chat_template: str = "policy",
        **_: object,
    ):
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if chat_template == "policy":
            self.template = AutoTokenizer.from_pretrained(policy_path)
        elif chat_template == "scorer":
            self.template = self.tokenizer
        else:
            raise ValueError(f"chat_template must be 'policy' or 'scorer', got {chat_template!r}")
        if not self.template.chat_template:
            raise ValueError(f"{path}: the {chat_template} tokenizer has no chat template")
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        try:
            self.model = AutoModelForSequenceClassification.from_pretrained(
                path, dtype=dtype, trust_remote_code=trust_remote_code, use_safetensors=True
            )
        except ValueError as exc:
            if "trust_remote_code" in str(exc) and not trust_remote_code:
                raise ValueError(
                    f"{path} ships its own modelling code; it runs only with trust_remote_code: true in this "
                    "scorer's config (reward.scorers.<name>.trust_remote_code), which you should set only if "
                    "you trust that code"
                ) from exc
            raise
        self.model = self.model.to(self.device).eval()
        if self.model.config.pad_token_id is None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.batch_size = batch_size

    @torch.no_grad()
    def score(self, prompts: list[str], responses: list[str], finish_reasons: list[str] | None = None) -> list[float]:
        texts = [render(self.template, p, r) for p, r in zip(prompts, responses)]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rewards = [0.0] * len(texts)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = encode(self.tokenizer, [texts[i] for i in idx]).to(self.device)
            values = reward_values(self.model, enc)
            for i, value in zip(idx, values.tolist()):
                rewards[i] = value
        return rewards
