"""Build the tiny tokenizer and the tiny Llama policy offline, then cache them.

The tokenizer is a byte-level BPE trained on the toy task's text, with a chat
template. The policy is a small Llama-architecture causal LM (head_dim 64, so
vLLM's CPU backend can run it too) warmed up by a short SFT on the toy task.
Everything is saved with ``save_pretrained`` and read back with
``from_pretrained``, so the rest of spo only ever sees a checkpoint directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from spo.io import atomic_dir
from spo.tasks import sort_digits

log = logging.getLogger(__name__)

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


@dataclass(frozen=True)
class TinySpec:
    """Everything that determines the tiny policy; its hash names the cache entry."""

    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 2
    head_dim: int = 64
    vocab_size: int = 384
    sft_steps: int = 150
    sft_batch_size: int = 32
    sft_lr: float = 3e-3
    sft_min_len: int = 2
    sft_max_len: int = 8
    seed: int = 0

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def build_tokenizer(out_dir: Path, vocab_size: int, seed: int):
    """Train a byte-level BPE tokenizer on toy-task text and save it with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rows = sort_digits.generate_prompts(2000, seed=seed + 1, min_len=1, max_len=10)
    corpus = [r["prompt"] for r in rows] + [sort_digits.solution(r["prompt"]) for r in rows]
    corpus += ["Sort the digits in ascending order.", "The answer is", "hello world"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|pad|>",
        eos_token="<|end|>",
        chat_template=CHAT_TEMPLATE,
    )
    fast.save_pretrained(out_dir)
    return fast


def build_model(tokenizer, spec: TinySpec):
    """A randomly initialised tiny Llama sized for ``tokenizer``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.hidden_size * 4,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        head_dim=spec.head_dim,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(spec.seed)
    return LlamaForCausalLM(config)


def sft_warmup(model, tokenizer, spec: TinySpec) -> list[float]:
    """Short supervised warm-up on toy-task solutions; returns the loss curve."""
    rng = random.Random(spec.seed)
    rows = sort_digits.generate_prompts(
        spec.sft_steps * spec.sft_batch_size, spec.seed + 2, spec.sft_min_len, spec.sft_max_len
    )
    rng.shuffle(rows)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.sft_lr, weight_decay=0.0)
    model.train()
    losses = []
    for step in range(spec.sft_steps):
        batch = rows[step * spec.sft_batch_size : (step + 1) * spec.sft_batch_size]
        ids, labels = [], []
        for r in batch:
            p = tokenizer.apply_chat_template(
                [{"role": "user", "content": r["prompt"]}], add_generation_prompt=True, tokenize=False
            )
            p_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
            a_ids = tokenizer(sort_digits.solution(r["prompt"]) + tokenizer.eos_token, add_special_tokens=False)[
                "input_ids"
            ]
            ids.append(p_ids + a_ids)
            labels.append([-100] * len(p_ids) + a_ids)
        width = max(map(len, ids))
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
        label_t = torch.tensor([x + [-100] * (width - len(x)) for x in labels])
        mask = (torch.arange(width)[None, :] < torch.tensor([len(x) for x in ids])[:, None]).long()
        loss = model(input_ids=input_ids, attention_mask=mask, labels=label_t).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses


def ensure_tiny_policy(cache_dir: str | Path, spec: TinySpec = TinySpec()) -> Path:
    """Return the cached tiny policy directory, building it first if absent."""
    out = Path(cache_dir).expanduser() / "tiny" / spec.key()
    if (out / "config.json").exists():
        return out
    log.info("building tiny policy in %s", out)
    torch.manual_seed(spec.seed)
    with atomic_dir(out) as tmp:
        tokenizer = build_tokenizer(tmp, spec.vocab_size, spec.seed)
        model = build_model(tokenizer, spec)
        losses = sft_warmup(model, tokenizer, spec)
        model.save_pretrained(tmp)
        (tmp / "spo_tiny.json").write_text(
            json.dumps({"spec": asdict(spec), "sft_loss_first": losses[0], "sft_loss_last": losses[-1]}, indent=2)
        )
    return out


def build_tiny_reward_model(
    policy_path: str | Path, out: str | Path, hidden_size: int = 64, num_layers: int = 1, intermediate_size: int = 128
) -> Path:
    """A randomly initialised (seed 0) one-label Llama reward model on the policy's tokenizer, saved at ``out``."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    tok = AutoTokenizer.from_pretrained(policy_path)
    heads = hidden_size // 64  # head_dim 64, as the policy
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=num_layers, num_attention_heads=heads, num_key_value_heads=heads,
                         head_dim=64, num_labels=1, pad_token_id=tok.pad_token_id)  # fmt: skip
    torch.manual_seed(0)
    with atomic_dir(Path(out)) as tmp:
        LlamaForSequenceClassification(config).save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return Path(out)
