"""The chat template, applied in one place: how every role turns a prompt into the policy's input text."""

from __future__ import annotations


def load_tokenizer(path: str, trust_remote_code: bool = False, require_chat_template: bool = True):
    """Load a tokenizer for left-padded batched generation; require a chat template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if require_chat_template and not tok.chat_template:
        raise ValueError(f"{path}: tokenizer has no chat template")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def chat_prompt(tokenizer, prompt: str) -> str:
    """The prompt as the policy sees it: one user turn plus the generation prompt."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
