"""The rollout of ``difficulty.source=predicted``: rank the candidates before generating, then generate them
in waves until enough prompts gave a usable pair. With ``difficulty.first_samples``, a wave samples that many
answers per prompt, then the rest of ``generator.n_samples`` for its prompts that gave no usable pair yet.

The driver side only: the buffer actor predicts and ranks (:meth:`ReplayBuffer.rank_candidates`), the
generators embed the candidates (when the predictor reads features and ``difficulty.features=policy``)
and sample them, the runner streams each wave (:meth:`SelfPlayRunner._stream`).
"""

from __future__ import annotations

import logging
import math
import time

import ray

from spo.buffer.config import reads_policy
from spo.plugins import PREDICTORS

log = logging.getLogger(__name__)
MIN_RATE = 0.25  # the usable rate a wave is sized for, at worst (so a wave is never much larger than the need)


def predicted_rollout(runner, iteration: int, pools: list, in_flight=None, between_chunks=None) -> dict:
    """Generate ranked candidates of ``iteration`` until ``prompts_per_iteration`` gave a usable pair."""
    cfg, d, g = runner.cfg, runner.cfg.difficulty, runner.cfg.generator
    budget = cfg.prompts_per_iteration
    start = time.perf_counter()
    pool = runner.schedule.window(iteration, math.ceil(budget * d.oversample))
    embeddings = None
    if PREDICTORS.flag(d.predictor, "needs_features") and reads_policy(d.features):
        embeddings = runner.generators.embed(pool)
    ranked = ray.get(runner.buffer.rank_candidates.remote(iteration, pool, embeddings, iteration))
    if ranked["unranked"] and not getattr(runner, "_told_unranked", False):
        log.warning("difficulty.predictor=%s cannot rank %d of %d candidates yet (no history, or too few "
                    "observations to fit); they are generated in schedule order", d.predictor,
                    ranked["unranked"], ranked["candidates"])  # fmt: skip
        runner._told_unranked = True
    by_id = {r["prompt_id"]: r for r in pool}
    order = [by_id[pid] for pid in ranked["order"]]
    waves, done, usable, first_chunk = [], 0, 0, 0
    while usable < budget and done < len(order):
        rate = usable / done if done else 1.0
        size = min(len(order) - done, max(g.chunk_size, math.ceil((budget - usable) / max(rate, MIN_RATE))))
        stats, used = _wave(runner, order[done : done + size], iteration, pools, in_flight, between_chunks,
                            first_chunk)  # fmt: skip
        waves.append(stats)
        first_chunk += used
        done += size
        usable = ray.get(runner.buffer.usable_count.remote())
        if d.refit == "wave" and usable < budget and done < len(order):
            ids = [r["prompt_id"] for r in order[:done]]
            again = ray.get(runner.buffer.rerank.remote(iteration, ids, len(waves)))
            order = order[:done] + [by_id[pid] for pid in again["order"]]
            ranked.update(explored=again["explored"], eligible=again["eligible"])
    return {
        "rollout_s": time.perf_counter() - start,
        "generate_s": sum(w["generate_s"] for w in waves),
        "score_s": sum(w["score_s"] for w in waves),
        "prompts_generated": done,
        "samples_clean": sum(w["samples_clean"] for w in waves),
        "waves": len(waves),
        "prompts_topped_up": sum(w["prompts_topped_up"] for w in waves),
        "rank_unranked": ranked["unranked"],
        "rank_eligible": ranked["eligible"],
        "rank_explored": ranked["explored"],
        "budget_met": usable >= budget,
    }


def _wave(runner, rows: list[dict], iteration: int, pools: list, in_flight, between_chunks, first_chunk: int):
    """Generate one wave: ``difficulty.first_samples`` answers per prompt (without it, all of
    ``generator.n_samples``), then the rest for those prompts whose answers gave no usable pair yet, numbered after
    the first ones. Returns the wave's figures and how many chunks it used (each chunk its own seed)."""
    cfg, g = runner.cfg, runner.cfg.generator
    first = cfg.difficulty.first_samples or g.n_samples
    stats = runner._stream(rows, iteration, first, cfg.seed, pools, in_flight, between_chunks, first_chunk)
    used = math.ceil(len(rows) / g.chunk_size)
    tied = ray.get(runner.buffer.tied.remote([r["prompt_id"] for r in rows])) if first < g.n_samples else []
    stats["prompts_topped_up"] = len(tied)
    if tied:
        by_id = {r["prompt_id"]: r for r in rows}
        more = runner._stream([by_id[p] for p in tied], iteration, g.n_samples - first, cfg.seed, pools, in_flight,
                              between_chunks, first_chunk + used, first_idx=first)  # fmt: skip
        used += math.ceil(len(tied) / g.chunk_size)
        for key in ("generate_s", "score_s", "samples_clean"):
            stats[key] += more[key]
    return stats, used
