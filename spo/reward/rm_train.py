"""``spo rm train``: a scalar reward model trained with the Bradley-Terry loss on labelled pairs.

Pairs (from :mod:`spo.reward.rm_data`) are split by prompt into training, validation and held-out
parts. Training keeps the epoch with the best validation accuracy (early stopping, the initial head
included); the held-out part measures pair accuracy before and after, with 95% CIs from a bootstrap
over prompts. A model whose held-out accuracy is not above chance and above its initialisation (the
CI of the gain above 0) is refused, unless ``force``. Conversations are rendered and encoded exactly
as :class:`~spo.reward.sequence_classifier.SequenceClassifierScorer` will score them.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from spo.analysis.stats import cluster_bootstrap_ci
from spo.io import atomic_dir
from spo.reward.rm_data import degrade, split_by_prompt
from spo.reward.sequence_classifier import encode, render, reward_values

log = logging.getLogger(__name__)


class RewardModelNotBetter(ValueError):
    """The trained model is not measurably better than chance and than its initialisation."""


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
    def correct(self, pairs: list[dict], batch_size: int) -> np.ndarray:
        """Per pair: whether the model ranks the chosen answer above the rejected one."""
        self.model.eval()
        out = [(self.margins(pairs[i : i + batch_size]) > 0).numpy() for i in range(0, len(pairs), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=bool)

    def train_epoch(self, pairs: list[dict], opt, batch_size: int, rng: random.Random) -> float:
        """One pass of -log sigmoid(r_chosen - r_rejected) over shuffled ``pairs``; the mean loss."""
        self.model.train()
        losses = []
        for batch in length_batches(pairs, batch_size, rng):
            loss = -F.logsigmoid(self.margins(batch)).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        return sum(losses) / len(losses)


def length_batches(pairs: list[dict], batch_size: int, rng: random.Random, window: int = 8) -> list[list[dict]]:
    """Shuffled batches of pairs of similar length (sorted within windows of ``window`` batches): less padding."""
    pairs = pairs[:]
    rng.shuffle(pairs)
    size = batch_size * window
    batches = []
    for i in range(0, len(pairs), size):
        group = sorted(pairs[i : i + size], key=lambda p: len(p["chosen"]) + len(p["rejected"]))
        batches += [group[j : j + batch_size] for j in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def accuracy_summary(pairs: list[dict], before: np.ndarray, after: np.ndarray, seed: int = 0) -> dict:
    """Accuracy before and after with bootstrap CIs over prompts, and the paired gain's CI."""
    groups = np.array([p["prompt_id"] for p in pairs])
    gain = after.astype(float) - before.astype(float)
    return {
        "pairs": len(pairs),
        "prompts": len(set(groups)),
        "accuracy_before": float(before.mean()),
        "accuracy": float(after.mean()),
        "accuracy_ci": cluster_bootstrap_ci(after, groups, seed=seed),
        "gain_ci": cluster_bootstrap_ci(gain, groups, seed=seed),
    }


def breakdown(pairs: list[dict], before: np.ndarray, after: np.ndarray) -> dict:
    """The held-out summary per pair source, per difficulty third of the prompts (``third_hard`` holds the
    lowest mean gold reward) and, when pairs carry it, per third of the gold margin (``margin_small`` ...)."""
    out = {}
    for source in sorted({p["source"] for p in pairs}):
        idx = np.array([p["source"] == source for p in pairs])
        out[source] = accuracy_summary([p for p, k in zip(pairs, idx) if k], before[idx], after[idx])
    for key, prefix, names in (("difficulty", "third", ("hard", "medium", "easy")),
                               ("margin", "margin", ("small", "medium", "large"))):  # fmt: skip
        if any(key not in p for p in pairs):
            continue
        levels = np.array([p[key] for p in pairs])
        third = np.digitize(levels, np.quantile(np.unique(levels), [1 / 3, 2 / 3]), right=True)
        for k, name in enumerate(names):
            idx = third == k
            part = [p for p, i in zip(pairs, idx) if i]
            if part:
                out[f"{prefix}_{name}"] = accuracy_summary(part, before[idx], after[idx])
    return out


def train_reward_model(
    pairs: list[dict],
    base: str,
    template_path: str,
    out: str | Path,
    epochs: int = 3,
    lr: float = 5e-5,
    batch_size: int = 16,
    heldout_fraction: float = 0.3,
    valid_fraction: float = 0.15,
    seed: int = 0,
    force: bool = False,
    max_pairs: int | None = None,
    label_noise: float = 0.0,
) -> dict:
    """Bradley-Terry training with early stopping; saves the RM to ``out`` if it is better than its start.

    A proxy of controlled quality: ``max_pairs`` caps the training comparisons and ``label_noise`` swaps
    that share of the training and validation labels (:func:`~spo.reward.rm_data.degrade`); the held-out
    part keeps the gold labels, so its accuracy is against the gold. Returns the losses, the chosen epoch,
    and the held-out accuracy summary (overall and per part).
    """
    torch.manual_seed(seed)
    heldout, valid, train = split_by_prompt(pairs, (heldout_fraction, valid_fraction), seed)
    train = degrade(train, max_pairs, label_noise, seed)
    valid = degrade(valid, None, label_noise, seed + 1)
    if not train:
        raise ValueError(f"only {len({p['prompt_id'] for p in pairs})} prompts: none left for training")
    rm = PairScorer(base, template_path)
    before, start = rm.correct(heldout, batch_size), float(rm.correct(valid, batch_size).mean())
    log.info("%d train, %d validation, %d held-out pairs; validation accuracy at start %.3f",
             len(train), len(valid), len(heldout), start)  # fmt: skip
    valid_accuracy, epoch_losses, best_epoch = _fit(rm, train, valid, start, epochs, lr, batch_size, seed)
    after = rm.correct(heldout, batch_size)
    summary = accuracy_summary(heldout, before, after, seed)
    result = {
        "train_pairs": len(train), "valid_pairs": len(valid), "heldout_pairs": len(heldout),
        "label_noise": label_noise, "flipped_train_pairs": sum(p["flipped"] for p in train),
        "epoch_loss": epoch_losses, "valid_accuracy": valid_accuracy, "best_epoch": best_epoch,
        "heldout_accuracy_before": summary["accuracy_before"], "heldout_accuracy": summary["accuracy"],
        "heldout": summary, "heldout_parts": breakdown(heldout, before, after), "output": str(out),
        "better": summary["accuracy_ci"][0] > 0.5 and summary["gain_ci"][0] > 0,
    }  # fmt: skip
    if not result["better"] and not force:
        raise RewardModelNotBetter(f"not saved to {out}: {describe(result)}; it must beat chance and its "
                                   "initialisation (both CIs above); --force saves it anyway")  # fmt: skip
    with atomic_dir(Path(out)) as tmp:
        rm.model.save_pretrained(tmp, safe_serialization=True)
        rm.tokenizer.save_pretrained(tmp)
        (tmp / "spo_rm_train.json").write_text(json.dumps(result, indent=2))
        rows = [{**p, "correct_before": bool(b), "correct": bool(a)} for p, b, a in zip(heldout, before, after)]
        pq.write_table(pa.Table.from_pylist(rows), tmp / "heldout_pairs.parquet")
    return result


def _fit(rm: PairScorer, train: list, valid: list, start: float, epochs: int, lr: float, batch_size: int, seed: int):
    """Train ``epochs`` epochs and leave ``rm`` at the epoch of best validation accuracy (epoch 0: the start, whose
    accuracy is ``start``). Returns the validation accuracy per epoch (the start first), the training loss per
    epoch, and the best epoch."""
    best = (start, 0, copy.deepcopy(rm.model.state_dict()))
    valid_accuracy, epoch_losses = [start], []
    opt, rng = torch.optim.AdamW(rm.model.parameters(), lr=lr), random.Random(seed)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        epoch_losses.append(rm.train_epoch(train, opt, batch_size, rng))
        valid_accuracy.append(float(rm.correct(valid, batch_size).mean()))
        log.info("epoch %d/%d: loss %.4f, validation accuracy %.3f (%.0f s)",
                 epoch, epochs, epoch_losses[-1], valid_accuracy[-1], time.perf_counter() - start)  # fmt: skip
        if valid_accuracy[-1] > best[0]:
            best = (valid_accuracy[-1], epoch, copy.deepcopy(rm.model.state_dict()))
    rm.model.load_state_dict(best[2])
    return valid_accuracy, epoch_losses, best[1]


def describe(result: dict) -> str:
    """One line: held-out accuracy before -> after [CI], the gain's CI, and the sampled pairs' figure."""
    h = result["heldout"]
    line = (f"held-out pair accuracy {h['accuracy_before']:.3f} -> {h['accuracy']:.3f} "
            f"[{h['accuracy_ci'][0]:.3f}, {h['accuracy_ci'][1]:.3f}] on {h['pairs']} pairs of {h['prompts']} "
            f"prompts, gain CI [{h['gain_ci'][0]:+.3f}, {h['gain_ci'][1]:+.3f}]")  # fmt: skip
    sampled = result["heldout_parts"].get("sampled")
    if sampled and sampled["pairs"] != h["pairs"]:
        lo, hi = sampled["accuracy_ci"]
        line += (f"; sampled-answer pairs only: {sampled['accuracy_before']:.3f} -> {sampled['accuracy']:.3f} "
                 f"[{lo:.3f}, {hi:.3f}] on {sampled['pairs']}")  # fmt: skip
    return line
