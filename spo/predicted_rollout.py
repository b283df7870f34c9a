"""The rollout of ``difficulty.source=predicted``: rank the candidates before generating, then generate them
in waves until enough prompts gave a usable pair.

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
        wave = order[done : done + size]
        waves.append(runner._stream(wave, iteration, g.n_samples, cfg.seed, pools, in_flight, between_chunks,
                                    first_chunk))  # fmt: skip
        done += size
        first_chunk += math.ceil(size / g.chunk_size)
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
        "rank_unranked": ranked["unranked"],
        "rank_eligible": ranked["eligible"],
        "rank_explored": ranked["explored"],
        "budget_met": usable >= budget,
    }
