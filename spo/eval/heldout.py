"""Held-out evaluation: mean reward per scorer of the policy's fixed-sampling answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray

from spo.eval.winrate import win_rate_report
from spo.io import write_parquet
from spo.schemas import reward_col

HELDOUT_DIFFICULTY = "heldout_difficulty.parquet"  # under eval/: the samples that define the difficulty thirds


def heldout_summary(samples: pa.Table, scorers: list[str]) -> dict:
    """Mean finite reward per scorer, the mean response length in tokens, and how many samples failed scoring."""
    out = {"heldout_samples": samples.num_rows}
    if "score_error" in samples.column_names:
        out["heldout_score_errors"] = samples.num_rows - samples.column("score_error").null_count
    for s in scorers:
        col = samples.column(reward_col(s))
        finite = col.filter(pc.is_finite(col))
        out[f"heldout_reward/{s}"] = pc.mean(finite).as_py()
    out["heldout_tokens_mean"] = pc.mean(samples.column("n_tokens")).as_py()
    return out


def _write_scored(path: str, chunks) -> pa.Table:
    table = pa.concat_tables(chunks).sort_by([("prompt_id", "ascending"), ("sample_idx", "ascending")])
    write_parquet(table, path)
    return table


@ray.remote(num_cpus=0)
def collect_scored(path: str, *chunks: pa.Table) -> int:
    """Concatenate scored chunks and write them to ``path`` (the held-out difficulty estimate); returns rows."""
    return _write_scored(path, chunks).num_rows


@ray.remote(num_cpus=0)
def collect_heldout(path: str, scorers: list[str], judge: str, baseline: str | None, thirds: str | None,
                    *chunks: pa.Table) -> dict:  # fmt: skip
    """Concatenate scored held-out chunks, write them to ``path`` and summarise them.

    With a ``baseline`` answers file, adds win rates judged by ``judge``; with ``thirds`` (the samples
    that define the held-out prompts' difficulty), adds the reward per difficulty third.
    """
    table = _write_scored(path, chunks)
    summary = heldout_summary(table, scorers)
    summary["policy_versions"] = sorted(set(table.column("policy_version").to_pylist()))
    if baseline is not None and Path(baseline).exists() and Path(baseline).resolve() != Path(path).resolve():
        summary.update(compare_to_baseline(table, pq.read_table(baseline), judge))
    if thirds is not None and Path(thirds).exists():
        for s in scorers:
            summary.update(difficulty_buckets(table, pq.read_table(thirds), s))
        summary["heldout_thirds_from"] = Path(thirds).name
    return summary


def match_baseline(candidates: list[dict], baseline: list[dict]) -> list[tuple[dict, dict]]:
    """Pair each candidate row with the baseline row of the same ``(prompt_id, sample_idx)``, else
    with the baseline's (last) answer to the same prompt; candidates with neither are left out."""
    exact = {(r["prompt_id"], r["sample_idx"]): r for r in baseline}
    by_prompt = {r["prompt_id"]: r for r in baseline}
    pairs = [(c, exact.get((c["prompt_id"], c["sample_idx"])) or by_prompt.get(c["prompt_id"])) for c in candidates]
    return [(c, b) for c, b in pairs if b is not None]


def compare_to_baseline(samples: pa.Table, baseline: pa.Table, scorer: str) -> dict:
    """Win rates of ``samples`` against ``baseline`` answers (see :func:`match_baseline`), judged by
    ``scorer``'s reward."""
    col = reward_col(scorer)
    cols = ["prompt_id", "sample_idx", col, "n_tokens"]
    cand, ref, cand_len, ref_len = [], [], [], []
    for r, b in match_baseline(samples.select(cols).to_pylist(), baseline.select(cols).to_pylist()):
        if r[col] is None or b[col] is None or not (np.isfinite(r[col]) and np.isfinite(b[col])):
            continue
        cand.append(r[col])
        ref.append(b[col])
        cand_len.append(r["n_tokens"])
        ref_len.append(b["n_tokens"])
    if not cand:
        raise ValueError("no held-out sample has a baseline answer to compare with")
    report = win_rate_report(np.array(cand), np.array(ref), np.array(cand_len), np.array(ref_len))
    return {f"{k}/{scorer}" if k not in ("n",) else "win_rate_n": v for k, v in report.items()}


BUCKETS = ("hard", "medium", "easy")


def difficulty_buckets(samples: pa.Table, reference: pa.Table, scorer: str) -> dict:
    """Mean reward on held-out prompts split into terciles of ``reference``'s per-prompt mean reward."""
    col = reward_col(scorer)
    means = (
        reference.group_by("prompt_id")
        .aggregate([(col, "mean")])
        .sort_by([(f"{col}_mean", "ascending"), ("prompt_id", "ascending")])
    )
    ids = means.column("prompt_id").to_pylist()
    bucket = {pid: BUCKETS[min(i * 3 // max(len(ids), 1), 2)] for i, pid in enumerate(ids)}
    sums: dict[str, list[float]] = {b: [] for b in BUCKETS}
    for r in samples.select(["prompt_id", col]).to_pylist():
        if r["prompt_id"] in bucket and r[col] is not None and np.isfinite(r[col]):
            sums[bucket[r["prompt_id"]]].append(r[col])
    return {f"heldout_reward_{b}/{scorer}": (float(np.mean(v)) if v else None) for b, v in sums.items()}
