"""``spo analyze predict``: how well a difficulty predictor would have done on finished runs.

For every iteration k >= 1 of each run, the predictor is fit on the observations of iterations < k
(the same as it would be online) and predicts the prompts iteration k generated; their realised
difficulty and usable-pair outcome are the truth. Features are those the run stored
(``iter_<k>/candidates.parquet``), else the prompt's text features (a run with post-hoc selection).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from spo.buffer.config import DifficultyConfig
from spo.buffer.history import iteration_observations, observed_iterations, prior_observations
from spo.buffer.prediction import quality
from spo.plugins import PREDICTORS


def evaluate(run: Path, predictor: str, min_spread: float | None = None, **difficulty) -> list[dict]:
    """One row per predicted iteration: ``iteration``, ``predictor``, ``history_prompts`` and the
    :func:`~spo.buffer.prediction.quality` figures. ``difficulty`` overrides fields of the run's own
    ``difficulty`` config (``discount``, ``history_usable``, ``features``, ``learned_fit``, ``prior_runs``;
    ``None`` keeps the run's). With ``prior_runs`` the first iteration is predicted too, from them alone."""
    run = Path(run)
    if not (run / "config.yaml").exists():
        raise ValueError(f"{run}: not a run directory (no config.yaml)")
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    primary = cfg["reward"]["primary"]
    scorer = (cfg.get("difficulty") or {}).get("scorer") or primary
    spread = min_spread if min_spread is not None else (cfg.get("selection") or {}).get("min_reward_spread", 0.0)
    known = {f.name for f in DifficultyConfig.__dataclass_fields__.values()}
    dcfg = DifficultyConfig(**{k: v for k, v in (cfg.get("difficulty") or {}).items() if k in known})
    dcfg = replace(dcfg, **{k: v for k, v in difficulty.items() if v is not None})
    dcfg.validate()
    iters = observed_iterations(run)
    obs = {k: iteration_observations(run, k, scorer, primary, spread, dcfg.features) for k in iters}
    prior = [prior_observations(dcfg.prior_runs, scorer, primary, spread, dcfg.features)] if dcfg.prior_runs else []
    rows = []
    for k in iters[(0 if prior else 1) :]:
        history = pa.concat_tables(prior + [obs[j] for j in iters if j < k])
        pred = PREDICTORS.get(predictor)(obs[k].select(["prompt_id", "features"]), history, k, dcfg)
        q = quality(pred.column("predicted_difficulty").to_pylist(), obs[k].column("difficulty").to_pylist(),
                    pred.column("predicted_usable").to_pylist(), obs[k].column("usable").to_pylist())  # fmt: skip
        share = pc.mean(obs[k].column("usable")).as_py()
        rows.append({"run": run.name, "iteration": k, "predictor": predictor, "history_usable": dcfg.history_usable,
                     "features": dcfg.features, "learned_fit": dcfg.learned_fit,
                     "prior_runs": len(dcfg.prior_runs or []),
                     "history_prompts": history.num_rows,
                     "prompts": obs[k].num_rows, "usable_share": share, **q})  # fmt: skip
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'run':<24} {'iter':>4} {'predictor':<9} {'history':>7} {'prompts':>7} {'usable':>6} "
             f"{'spearman':>8} {'auc':>6}"]  # fmt: skip
    for r in rows:
        sp, auc = r.get("difficulty_spearman"), r.get("usable_auc")
        lines.append(f"{r['run'][:24]:<24} {r['iteration']:>4} {r['predictor']:<9} {r['history_prompts']:>7} "
                     f"{r['prompts']:>7} {r['usable_share']:>6.2f} {'-' if sp is None else f'{sp:.3f}':>8} "
                     f"{'-' if auc is None else f'{auc:.3f}':>6}")  # fmt: skip
    return "\n".join(lines)
