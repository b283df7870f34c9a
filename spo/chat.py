"""Conversations and the chat template, in one place: how every role turns a prompt into model input.

A prompt is its last user turn (``prompt``, a string: what rule rewards check) plus ``context``, the
turns before it (a system turn first, if any), stored in Arrow as a JSON array so it survives group-bys;
``None`` or ``"[]"`` for a single-turn prompt. Roles that read text (generators, the learner, reward
models, LLM judges, exports) call :func:`conversation` and hand the message list on; the chat template
is applied only by :func:`chat_prompt` (and by reward models rendering a finished conversation).
"""

from __future__ import annotations

import json

ROLES = ("system", "user", "assistant")


def earlier_turns(context: str | None) -> list[dict]:
    """The turns a ``context`` value holds (none for ``None``)."""
    return json.loads(context) if context else []


def conversation(prompt: str, context: str | None = None) -> str | list[dict]:
    """The turns the policy answers: ``prompt`` alone if ``context`` holds no turn, else the earlier
    turns followed by the user turn ``prompt``."""
    earlier = earlier_turns(context)
    return [*earlier, {"role": "user", "content": prompt}] if earlier else prompt


def row_conversation(row: dict) -> str | list[dict]:
    """:func:`conversation` of a prompt, sample or pair row (``context`` may be absent)."""
    return conversation(row["prompt"], row.get("context"))


def encode_context(turns: list[dict]) -> str | None:
    """The ``context`` value for earlier ``turns`` (``None`` if there are none)."""
    return json.dumps([{"role": t["role"], "content": t["content"]} for t in turns]) if turns else None


def split_messages(messages) -> tuple[str, str | None]:
    """``(prompt, context)`` of a chat message list: the last user turn's content, and the turns before it.
    Turns after it (an answer) are dropped. Raises ``ValueError`` saying what is wrong with the list."""
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in messages
    ):
        raise ValueError(f"expected a list of chat messages {{'role': one of {ROLES}, 'content': a string}}")
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise ValueError(f"the {len(messages)} chat messages hold no user turn")
    return messages[users[-1]]["content"], encode_context(messages[: users[-1]])


def prompt_and_context(value) -> tuple[str, str | None]:
    """``(prompt, context)`` of a prompt held as a string or as chat messages (:func:`split_messages`).
    Raises ``TypeError`` ("is <type>, expected ...") for anything else, ``ValueError`` for a bad list."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, list):
        return split_messages(value)
    raise TypeError(f"is {type(value).__name__}, expected a string or a list of chat messages")


def turns(prompt: str | list[dict]) -> list[dict]:
    """A prompt as a message list (a string is one user turn)."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


def transcript(prompt: str | list[dict]) -> str:
    """A prompt as plain text for a judge's rubric: a string as is, a conversation one turn per block."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"[{t['role']}]\n{t['content']}" for t in prompt)


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


def chat_prompt(tokenizer, prompt: str | list[dict]) -> str:
    """The prompt as the policy sees it: its turns (a string is one user turn) plus the generation prompt."""
    return tokenizer.apply_chat_template(turns(prompt), add_generation_prompt=True, tokenize=False)


def common_prefix_length(rows: list[list[int]]) -> int:
    """How many leading tokens all of several token rows share (their chat template's system prompt and turn
    header), each row keeping at least one token of its own; 0 for a single row. The rule of both the engine's
    shared prefill and the learner's one-row layout."""
    k, shortest = 0, min(map(len, rows))
    while len(rows) > 1 and k < shortest - 1 and all(r[k] == rows[0][k] for r in rows):
        k += 1
    return k
