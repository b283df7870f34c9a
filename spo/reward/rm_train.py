"""``spo rm train``: a scalar reward model trained with the Bradley-Terry loss on labelled pairs.

Pairs come from a run's samples: two answers to the same prompt whose labelling reward (e.g. the
rule reward) differs make a (chosen, rejected) pair. Held-out prompts (disjoint from the training
prompts) measure pair accuracy before and after training. Conversations are rendered and encoded
exactly as :class:`~spo.reward.sequence_classifier.SequenceClassifierScorer` will score them.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from spo.io import atomic_dir
from spo.reward.sequence_classifier import encode, render, reward_values
from spo.schemas import reward_col


def pairs_from_samples(path: str | Path, scorer: str, max_per_prompt: int = 6, seed: int = 0) -> list[dict]:
    """(prompt_id, prompt, chosen, rejected) for answers to one prompt whose ``scorer`` rewards differ."""
    table = pq.read_table(path)
    col = reward_col(scorer)
    if col not in table.column_names:
        raise ValueError(f"{path}: no column {col!r}; scorers there: {[c for c in table.column_names if '/' in c]}")
    by_prompt: dict[str, list[dict]] = {}
    for row in table.select(["prompt_id", "prompt", "response", col]).to_pylist():
        by_prompt.setdefault(row["prompt_id"], []).append(row)
    rng = random.Random(seed)
    pairs = []
    for pid in sorted(by_prompt):
        rows = by_prompt[pid]
        found = [(a, b) if a[col] > b[col] else (b, a) for a, b in itertools.combinations(rows, 2) if a[col] != b[col]]
        rng.shuffle(found)
        for chosen, rejected in found[:max_per_prompt]:
            pairs.append({"prompt_id": pid, "prompt": chosen["prompt"], "chosen": chosen["response"],
                          "rejected": rejected["response"]})  # fmt: skip
    if not pairs:
        raise ValueError(f"{path}: no prompt has two answers with different {scorer!r} rewards")
    return pairs


def split_by_prompt(pairs: list[dict], heldout_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Train and held-out pairs whose prompts are disjoint."""
    ids = sorted({p["prompt_id"] for p in pairs})
    random.Random(seed).shuffle(ids)
    held = set(ids[: max(1, int(len(ids) * heldout_fraction))])
    return [p for p in pairs if p["prompt_id"] not in held], [p for p in pairs if p["prompt_id"] in held]


class PairScorer:
    """A sequence-classification model with one output, plus the rendering its scorer will use."""

    def __init__(self, base: str, template_path: str):
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.template = AutoTokenizer.from_pretrained(template_path)
        # A fresh one-output head replaces whatever head the base has (MiniLM has none).
        self.model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=1, dtype=torch.float32, ignore_mismatched_sizes=True
        )
        self.model.config.pad_token_id = self.tokenizer.pad_token_id

    def margins(self, batch: list[dict]) -> torch.Tensor:
        """r(chosen) - r(rejected) per pair, from one forward pass over both."""
        texts = [render(self.template, p["prompt"], p[k]) for k in ("chosen", "rejected") for p in batch]
        values = reward_values(self.model, encode(self.tokenizer, texts))
        return values[: len(batch)] - values[len(batch) :]

    @torch.no_grad()
    def accuracy(self, pairs: list[dict], batch_size: int) -> float:
        self.model.eval()
        right = sum(int((self.margins(pairs[i : i + batch_size]) > 0).sum()) for i in range(0, len(pairs), batch_size))
        return right / len(pairs)


def train_reward_model(
    pairs: list[dict],
    base: str,
    template_path: str,
    out: str | Path,
    epochs: int = 1,
    lr: float = 5e-5,
    batch_size: int = 16,
    heldout_fraction: float = 0.2,
    seed: int = 0,
) -> dict:
    """Bradley-Terry training (loss -log sigmoid(r_chosen - r_rejected)); saves the RM to ``out``.

    Returns the loss per epoch and the held-out pair accuracy before and after training.
    """
    torch.manual_seed(seed)
    train, heldout = split_by_prompt(pairs, heldout_fraction, seed)
    rm = PairScorer(base, template_path)
    before = rm.accuracy(heldout, batch_size)
    opt = torch.optim.AdamW(rm.model.parameters(), lr=lr)
    rng = random.Random(seed)
    epoch_losses = []
    for _ in range(epochs):
        rng.shuffle(train)
        rm.model.train()
        losses = []
        for i in range(0, len(train), batch_size):
            loss = -F.logsigmoid(rm.margins(train[i : i + batch_size])).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(rm.model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        epoch_losses.append(sum(losses) / len(losses))
    result = {
        "train_pairs": len(train),
        "heldout_pairs": len(heldout),
        "epoch_loss": epoch_losses,
        "heldout_accuracy_before": before,
        "heldout_accuracy": rm.accuracy(heldout, batch_size),
        "output": str(out),
    }
    with atomic_dir(Path(out)) as tmp:
        rm.model.save_pretrained(tmp, safe_serialization=True)
        rm.tokenizer.save_pretrained(tmp)
        (tmp / "spo_rm_train.json").write_text(json.dumps(result, indent=2))
    return result
