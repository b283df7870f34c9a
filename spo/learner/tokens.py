"""How the learner tokenises what it scores: the chat-templated prompt, and a response with its closing EOS,
each encoded on its own (both layouts of :mod:`spo.learner.logprobs` and :mod:`spo.learner.shared_prompt`)."""

from __future__ import annotations

from spo.chat import chat_prompt


def prompt_ids(tokenizer, prompt) -> list[int]:
    return tokenizer(chat_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]


def response_ids(tokenizer, response: str) -> list[int]:
    return tokenizer(response + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
