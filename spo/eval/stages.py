"""The held-out stages of a run: scoring reference answers, the difficulty estimate that defines the thirds,
and evaluating a policy version. The driver holds only object references; generation and scoring run on
the role actors."""

from __future__ import annotations

import time
from pathlib import Path

import ray

from spo.data.schedule import chunks, derived_seed
from spo.eval.heldout import HELDOUT_DIFFICULTY, collect_heldout, collect_scored
from spo.eval.reference import reference_samples
from spo.io import write_parquet
from spo.rollout.base import SamplingParams


class HeldoutStages:
    """Held-out evaluation for one run: its prompts, config and ``eval/`` directory."""

    def __init__(self, cfg, run_dir: Path, heldout: list[dict], reference_answers: dict | None):
        self.cfg, self.heldout, self.reference_answers = cfg, heldout, reference_answers
        self.eval_dir = Path(run_dir) / "eval"

    def _answers(self, generators, scorers, n: int, seed: int) -> list:
        """References to ``n`` scored answers per held-out prompt, chunk by chunk, seeded from ``seed``."""
        e, g = self.cfg.eval, self.cfg.generator
        refs = []
        for k, chunk in enumerate(chunks(self.heldout, e.chunk_size or g.chunk_size)):
            sampling = SamplingParams(n, e.temperature, e.top_p, g.max_new_tokens, derived_seed(seed, k))
            refs.append(scorers.submit(generators.submit(chunk, -1, sampling)))
        return refs

    def score_reference_answers(self, scorers, tokenizer) -> dict | None:
        """Score the reference answers once (``eval.baseline`` file) into ``eval/reference.parquet``."""
        if self.reference_answers is None:
            return None
        rows = reference_samples(self.heldout, self.reference_answers, tokenizer)
        scored = ray.get(scorers.submit(ray.put(rows)))
        write_parquet(scored, self.eval_dir / "reference.parquet")
        return {"reference_answers": scored.num_rows}

    def difficulty(self, generators, scorers) -> dict | None:
        """The initial policy's ``eval.difficulty_samples`` answers per held-out prompt, with seeds of their own,
        scored once into ``eval/heldout_difficulty.parquet``: what defines the held-out difficulty thirds."""
        e = self.cfg.eval
        if not e.difficulty_samples:
            return None
        refs = self._answers(generators, scorers, e.difficulty_samples, e.difficulty_seed)
        return {"heldout_difficulty_samples": ray.get(collect_scored.remote(str(self.eval_dir / HELDOUT_DIFFICULTY),
                                                                            *refs))}  # fmt: skip

    def evaluate(self, version: int, generators, scorers, pairwise_judge=None) -> dict:
        """Answer the held-out prompts with fixed sampling, score them, and compare with the baseline."""
        e, primary = self.cfg.eval, self.cfg.reward.primary
        start = time.perf_counter()
        refs = self._answers(generators, scorers, e.n_samples, e.seed)
        path, initial = str(self.eval_dir / f"policy_v{version}.parquet"), str(self.eval_dir / "policy_v0.parquet")
        baseline = initial if self.reference_answers is None else str(self.eval_dir / "reference.parquet")
        judge = e.judge or primary
        thirds = self.eval_dir / HELDOUT_DIFFICULTY
        thirds = str(thirds) if thirds.exists() else (initial if e.difficulty_samples else None)  # older runs: v0
        summary = ray.get(collect_heldout.remote(path, list(self.cfg.reward.scorers), judge, baseline, thirds, *refs))
        if summary["policy_versions"] != [version]:
            raise RuntimeError(
                f"held-out evaluation of policy v{version} got answers of versions "
                f"{summary['policy_versions']}: a weight push reached the generators mid-evaluation"
            )
        summary["eval_generate_s"] = generators.take_busy_seconds()
        scorers.take_busy_seconds()
        if pairwise_judge is not None and (version > 0 or self.reference_answers is not None):
            summary.update(ray.get(pairwise_judge.compare_files.remote(path, baseline)))
        summary["heldout_reward"] = summary[f"heldout_reward/{primary}"]
        for key in ("win_rate", "lc_win_rate"):
            if f"{key}/{judge}" in summary:
                summary[key] = summary[f"{key}/{judge}"]
        return {**summary, "eval_s": time.perf_counter() - start, "policy_version": version}
