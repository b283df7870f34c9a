"""``spo select``: pair metrics and top-fraction selection on an existing preference dataset."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from spo.buffer.config import SelectionConfig
from spo.buffer.pair_metrics.base import compute_alignment_potential, mark_top_pairs
from spo.offline.dataset import DatasetError, as_flags, read_pairs, write_table

DPO_COLUMNS = ("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps")
MEAN_COLUMNS = ("chosen_logps_mean", "rejected_logps_mean")
SKIPPED_SCHEMA = pa.schema([("row", pa.int64()), ("reason", pa.string())])
log = logging.getLogger(__name__)
# the selection config's keys as the command's flags name them
FLAGS = {"selection.pair_metric": "--metric", "selection.pair_fraction": "--fraction",
         "selection.judge_dim": "--judge-dim"}  # fmt: skip


def _col(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(t.column(name).to_numpy(zero_copy_only=False), dtype=float)


def model_logps_mean(pairs: pa.Table, model_path: str, batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Mean token log-probs of chosen and rejected responses under the model at ``model_path``."""
    import torch
    from transformers import AutoModelForCausalLM

    from spo.chat import load_tokenizer, row_conversation
    from spo.learner.logprobs import pair_logprobs

    tok = load_tokenizer(model_path)
    tok.padding_side = "right"
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32, use_safetensors=True).eval()
    chosen, rejected = [], []
    rows = pairs.select(["prompt", "context", "chosen", "rejected"]).to_pylist()
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            b = rows[start : start + batch_size]
            c, r, nc, nr = pair_logprobs(model, tok, [row_conversation(x) for x in b], [x["chosen"] for x in b],
                                         [x["rejected"] for x in b])  # fmt: skip
            chosen += (c / nc).tolist()
            rejected += (r / nr).tolist()
    return np.array(chosen), np.array(rejected)


def implicit_margins(pairs: pa.Table, implicit: str, beta: float, model: str | None) -> tuple[np.ndarray, str]:
    """The implicit margin and the form used: given mean log-probs, given DPO log-probs, or the model's."""
    names = set(pairs.column_names)
    has_mean, has_dpo = set(MEAN_COLUMNS) <= names, set(DPO_COLUMNS) <= names
    if implicit in ("auto", "length_normalized") and has_mean:
        return _col(pairs, "chosen_logps_mean") - _col(pairs, "rejected_logps_mean"), "length_normalized (given)"
    if implicit in ("auto", "dpo") and has_dpo:
        c, r = (
            _col(pairs, "chosen_logps") - _col(pairs, "ref_chosen_logps"),
            _col(pairs, "rejected_logps") - _col(pairs, "ref_rejected_logps"),
        )
        return beta * (c - r), "dpo (given)"
    if implicit != "dpo" and model is not None:
        c, r = model_logps_mean(pairs, model)
        return c - r, f"length_normalized ({model})"
    need = "ref_* and policy log-prob columns" if implicit == "dpo" else "--model PATH or chosen/rejected_logps_mean"
    raise DatasetError(f"the implicit margin needs {need}")


def report_skipped(skipped: list[dict], inp: str, path: str | None) -> None:
    """Every row that gave no pair: into ``path`` (JSONL, atomically) or the log."""
    if path is not None:
        write_table(pa.Table.from_pylist(skipped, schema=SKIPPED_SCHEMA), path)
        return
    for s in skipped:
        log.warning("%s: row %d skipped: %s", inp, s["row"], s["reason"])


def select_offline(
    inp: str,
    out: str,
    metric: str,
    fraction: float,
    weight: float = 1.0,
    implicit: str = "auto",
    beta: float = 0.1,
    model: str | None = None,
    judge_dim: str | None = None,
    seed: int = 0,
    skipped_out: str | None = None,
    split: str = "train",
) -> dict:
    """Score the pairs in ``inp`` (a file, or split ``split`` of a dataset), keep the top ``fraction`` by
    ``metric`` and write them to ``out``.

    Rows that cannot give a pair (all scores tied, fewer than two responses) are skipped: written to
    ``skipped_out`` (JSONL of ``row``, ``reason``) if given, else logged one by one, and counted.
    """
    sel = SelectionConfig(pair_metric=metric, pair_fraction=fraction, ap_weight=weight, judge_dim=judge_dim)
    with as_flags(FLAGS):
        sel.validate("selection")
    loaded = read_pairs(inp, split)
    pairs = loaded.pairs
    report_skipped(loaded.skipped, inp, skipped_out)
    form = None
    if sel.needs_logprobs or model is not None or set(MEAN_COLUMNS) <= set(pairs.column_names):
        margin, form = implicit_margins(pairs, implicit, beta, model)
        pairs = pairs.append_column("margin_implicit", pa.array(margin, pa.float64()))
        ap = compute_alignment_potential(_col(pairs, "margin_explicit"), margin, weight)
        pairs = pairs.append_column("alignment_potential", pa.array(ap, pa.float64()))
    scored = mark_top_pairs(pairs, metric, fraction, judge_dim, seed)
    kept = scored.filter(scored.column("selected")).drop_columns(["selected"])
    write_table(kept, out)
    summary = {"input": inp, "output": out, "total": pairs.num_rows, "kept": kept.num_rows, "metric": metric,
               "implicit_form": form, "skipped": len(loaded.skipped), "skipped_file": skipped_out}  # fmt: skip
    for name in ("margin_explicit", "margin_implicit", "alignment_potential"):
        if name in kept.column_names:
            values = _col(kept, name)
            summary[name] = {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max())}
    return summary
