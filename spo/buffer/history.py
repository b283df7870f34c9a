"""Every prompt's observed reward statistics across iterations, as pure functions over Arrow tables.

An observation is one prompt in one iteration: the mean of its samples' rewards (its difficulty), their
spread (max - min) and whether that spread makes a usable pair, the policy version that drew them, and
the prompt's features when it was chosen. The history is rebuilt from the run directory's
``iter_<k>/prompts.parquet`` and ``iter_<k>/candidates.parquet``, so a resumed run sees what an
uninterrupted one saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spo.buffer.features import prompt_features
from spo.buffer.prediction import candidates_table
from spo.schemas import difficulty_col

SPREAD_TOLERANCE = 1e-9  # rewards within this of each other count as tied


def wide(gaps, min_spread: float) -> np.ndarray:
    """Per reward gap: wider than ``min_spread`` (with :data:`SPREAD_TOLERANCE`), the rule for a usable pair;
    a missing gap is not."""
    return np.nan_to_num(np.asarray(gaps, dtype=float), nan=0.0) > min_spread + SPREAD_TOLERANCE


def usable(prompts: pa.Table, scorer: str, min_spread: float) -> np.ndarray:
    """Per prompt: its samples' ``scorer`` rewards spread by more than ``min_spread`` (a pair can be built)."""
    hi = prompts.column(f"reward_max/{scorer}").to_numpy(zero_copy_only=False).astype(float)
    lo = prompts.column(f"reward_min/{scorer}").to_numpy(zero_copy_only=False).astype(float)
    return wide(hi - lo, min_spread)


def observations(prompts: pa.Table, features: pa.Table, scorer: str, pair_scorer: str, min_spread: float,
                 version: int) -> pa.Table:  # fmt: skip
    """One iteration's observations: ``prompt_id``, ``policy_version``, ``difficulty`` (mean ``scorer``
    reward), ``usable`` (spread of ``pair_scorer``), ``pair_mean`` (mean ``pair_scorer`` reward),
    ``n_samples``, and ``features`` (joined from ``features``)."""
    obs = pa.table({
        "prompt_id": prompts.column("prompt_id"),
        "policy_version": pa.array([version] * prompts.num_rows, pa.int64()),
        "difficulty": pc.cast(prompts.column(difficulty_col(scorer)), pa.float64()),
        "usable": pa.array(usable(prompts, pair_scorer, min_spread)),
        "pair_mean": pc.cast(prompts.column(difficulty_col(pair_scorer)), pa.float64()),
        "n_samples": pc.cast(prompts.column("n_samples"), pa.int64()),
    })  # fmt: skip
    vectors = dict(zip(features.column("prompt_id").to_pylist(), features.column("features").to_pylist()))
    feats = pa.array([vectors.get(pid) for pid in obs.column("prompt_id").to_pylist()], pa.list_(pa.float64()))
    return obs.append_column("features", feats).sort_by("prompt_id")


def iteration_observations(run_dir: Path, k: int, scorer: str, pair_scorer: str, min_spread: float,
                           features: str = "text", stored: bool = True) -> pa.Table:  # fmt: skip
    """Iteration ``k``'s observations from the run directory: its generated prompts, with the features and
    version its ``candidates.parquet`` stored (if ``stored``), else (a run with post-hoc selection) the
    prompts' ``features`` (:data:`spo.buffer.config.FEATURE_SETS`; no policy embedding) and version ``k``."""
    d = Path(run_dir) / f"iter_{k}"
    prompts = pq.read_table(d / "prompts.parquet")
    for name in (difficulty_col(scorer), f"reward_max/{pair_scorer}"):
        if name not in prompts.column_names:
            raise ValueError(f"{d / 'prompts.parquet'}: no column {name!r} (scored by other scorers than this run's)")
    generated = prompts.filter(pc.invert(pc.is_null(prompts.column(difficulty_col(scorer)))))
    if stored and (d / "candidates.parquet").exists():
        cands = pq.read_table(d / "candidates.parquet", columns=["prompt_id", "features", "policy_version"])
        version = int(pc.min(cands.column("policy_version")).as_py())
    else:
        samples = pq.read_table(d / "samples.parquet", columns=["prompt_id", "prompt"])
        text = dict(zip(samples.column("prompt_id").to_pylist(), samples.column("prompt").to_pylist()))
        ids = generated.column("prompt_id").to_pylist()
        cands, version = candidates_table(ids, prompt_features([text[i] for i in ids], features), k), k
    return observations(generated, cands, scorer, pair_scorer, min_spread, version)


def read_history(run_dir: Path, before: int, scorer: str, pair_scorer: str, min_spread: float) -> pa.Table | None:
    """Observations of the iterations ``< before`` that chose their prompts by prediction (``None`` if none)."""
    parts = [iteration_observations(run_dir, k, scorer, pair_scorer, min_spread) for k in range(before)
             if (Path(run_dir) / f"iter_{k}" / "candidates.parquet").exists()
             and (Path(run_dir) / f"iter_{k}" / "prompts.parquet").exists()]  # fmt: skip
    return pa.concat_tables(parts) if parts else None


def observed_iterations(run_dir: Path) -> list[int]:
    """The iterations of a run directory that wrote ``iter_<k>/prompts.parquet``, in order."""
    return sorted(int(p.parent.name.split("_")[1]) for p in Path(run_dir).glob("iter_*/prompts.parquet"))


def prior_observations(runs: list[str], scorer: str, pair_scorer: str, min_spread: float, features: str) -> pa.Table:
    """Every generated prompt of finished runs ``runs`` (``difficulty.prior_runs``), as observations of this
    run's scorers, threshold and ``features`` computed afresh from the prompt text, at their own iteration as
    version: a previous run's logs warm the predictor."""
    parts = []
    for run in runs:
        run = Path(run).expanduser()
        iters = observed_iterations(run)
        if not iters:
            raise ValueError(f"difficulty.prior_runs: {run} has no iter_<k>/prompts.parquet")
        parts += [iteration_observations(run, k, scorer, pair_scorer, min_spread, features, stored=False)
                  for k in iters]  # fmt: skip
    return pa.concat_tables(parts)
