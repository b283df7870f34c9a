"""Predicting difficulty before generating against post-hoc selection, at the same pair budget.

Per seed: a ``post-hoc`` run (``difficulty.source=current``: generate every scheduled prompt, pair those
whose samples spread by more than ``selection.min_reward_spread``), then a ``predicted`` run whose
budget (``prompts_per_iteration``: prompts with a usable pair) is the post-hoc run's mean number of
usable prompts per iteration, drawn from ``oversample`` times as many candidates (per model: a pool must
hold more than the budget over the usable rate, or the predicted arm generates all of it). Same policy, seed,
pair builder and threshold. Reported: generated tokens per trained pair, wall time per iteration,
held-out reward per iteration (paired by seed and iteration, cluster bootstrap over seeds), the online
predictor's quality, and offline, history vs learned vs both (``spo analyze predict``) on the same runs.

``--model tiny_revisit``: 256 training prompts, so each recurs every other iteration (history applies).
``--model tiny_exact``, ``tiny_exact_wave`` and ``tiny_exact_revisit``: the same with the pass/fail reward (``reward=sort_exact``),
where a prompt is unusable when its samples all pass or all fail; ``tiny_exact_revisit_pass`` reads history as a
Beta posterior of each prompt's pass rate (``difficulty.history_usable=pass_rate``). On pass/fail settings the
offline figures give history and both under each way of reading history.
``--model smollm2``: the demo's experiment (``make demo-models`` first), where a prompt is unusable when its
samples all tie under the rule reward (``min_reward_spread`` 0). Its predicted arm generates in chunks of
8 prompts: a wave is never smaller than one generator call, and the demo's call of 32 prompts would exceed
the whole post-hoc iteration (24 prompts). ``--model smollm2_words_prior``: the same with hashed-word features,
L1 penalties chosen by cross-validation, and each seed's predictor warmed on the other seeds' post-hoc runs
(``difficulty.prior_runs``), which is why every post-hoc run comes first; ``smollm2_words_prior_pool5`` draws
its candidates from a 5x pool instead of 2.5x. ``*_first2`` settings sample 2 answers per candidate first and the
other 2 only where the first 2 tie (``difficulty.first_samples=2``); ``smollm2_words_prior_first2_evalpin`` also
evaluates with the post-hoc arm's held-out calls (``eval.chunk_size=32``), so both arms score a policy with the same
draws. ``smollm2_words_prior_evalpin`` (the predictor without the top-up) and ``smollm2_first2_random_evalpin`` (the
top-up with candidates in random order, ``explore=1``) take that arm apart. ``--control yes`` adds a second post-hoc
run per seed with the predicted arm's rollout and evaluation options (its ``generator.chunk_size``,
``eval.chunk_size``): the same selection with other draws, so the JSON's ``compare_control`` gives how far two
post-hoc runs differ, and the arm against both. ``--work DIR`` keeps the runs; a run already finished there with the
same overrides is reused (two settings then share their post-hoc runs).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.common import cache_dir, compose_config, paired, parse_args, write_result
from spo.analysis.predict import evaluate
from spo.analysis.stats import cluster_bootstrap_ci
from spo.buffer.config import HISTORY_USABLE
from spo.io import read_jsonl, write_json
from spo.runner import SelfPlayRunner

EXACT = ("experiment=tiny", "reward=sort_exact", "selection.min_reward_spread=0")


class Setting(NamedTuple):
    both: tuple[str, ...]  # overrides of both arms
    predicted_only: tuple[str, ...]  # overrides of the predicted arm only
    iterations: str  # default iterations
    prompts: str  # default post-hoc prompts per iteration
    oversample: float  # candidate pool / budget of the predicted arm
    prior: bool = False  # the predicted arm's predictor warmed on the other seeds' post-hoc runs (prior_runs)


MODELS = {
    "tiny": Setting(("experiment=tiny", "selection.min_reward_spread=0.3"), (), "6", "128", 2.5),
    # the revisiting regime: 256 training prompts, 128 per iteration, so each prompt recurs every other iteration
    # and its own history can predict it
    "tiny_revisit": Setting(
        ("experiment=tiny", "selection.min_reward_spread=0.3", "task.n_train=256"), (), "6", "128", 2.5
    ),
    # 2 answers per candidate first, the other 2 only for those whose first 2 spread by no more than 0.3
    "tiny_first2": Setting(
        ("experiment=tiny", "selection.min_reward_spread=0.3"), ("difficulty.first_samples=2",), "6", "128", 2.5
    ),
    # pass/fail: the reward is 1 only for the exactly sorted list, so a prompt gives a pair only when its samples
    # both pass and fail; short lists nearly always pass and long ones nearly always fail (GRESO's regime). About
    # one prompt in three is usable, so a 2.5x pool is generated whole (measured); 5x leaves room to skip
    "tiny_exact": Setting(EXACT, (), "6", "128", 5.0),
    # the same, the predictor refit after every wave (the first iteration is ranked from its second wave on)
    "tiny_exact_wave": Setting(EXACT, ("difficulty.refit=wave",), "6", "128", 5.0),
    "tiny_exact_revisit": Setting((*EXACT, "task.n_train=256"), (), "6", "128", 5.0),
    # the same, history read as a Beta posterior of each prompt's pass rate (MoPPS) instead of its share of usable visits
    "tiny_exact_revisit_pass": Setting(
        (*EXACT, "task.n_train=256"), ("difficulty.history_usable=pass_rate",), "6", "128", 5.0
    ),
    # the same with every past visit at full weight: a prompt recurs every other iteration, so at the default
    # discount 0.5 its one visit weighs 0.25 and `both` gives the learned model 80% of the say (chosen from offline
    # AUC on post-hoc runs of seeds 0-2; confirmed on seeds 3-5, `--first-seed 3`)
    "tiny_exact_revisit_pass_d1": Setting(
        (*EXACT, "task.n_train=256"),
        ("difficulty.history_usable=pass_rate", "difficulty.discount=1.0"),
        "6",
        "128",
        5.0,
    ),
    # the same, 2 answers per candidate first and the other 2 only for those whose first 2 both pass or both fail
    "tiny_exact_revisit_first2": Setting(
        (*EXACT, "task.n_train=256"), ("difficulty.first_samples=2",), "6", "128", 5.0
    ),
    "smollm2": Setting(("experiment=smollm2_ifeval",), ("generator.chunk_size=8",), "4", "24", 2.5),
    # 2 answers per candidate first, the other 2 only for those whose first 2 tie (difficulty.first_samples)
    "smollm2_first2": Setting(
        ("experiment=smollm2_ifeval",), ("generator.chunk_size=8", "difficulty.first_samples=2"), "4", "24", 2.5
    ),
    # the same, the learned model on hashed words of the prompt (which name its instructions) with L1 penalties
    # chosen by cross-validation, warmed on the other seeds' post-hoc runs (a team's earlier logs of the task)
    "smollm2_words_prior": Setting(
        ("experiment=smollm2_ifeval",),
        ("generator.chunk_size=8", "difficulty.features=words", "difficulty.learned_fit=l1_cv"),
        "4",
        "24",
        2.5,
        prior=True,
    ),
}
# the same from a 5x pool: at 2.5x the arm generates about two thirds of its candidates, where offline the ranking's
# top third is usable 0.90 of the time against 0.76 for its top two thirds (post-hoc runs, seeds 0-2)
MODELS["smollm2_words_prior_pool5"] = MODELS["smollm2_words_prior"]._replace(oversample=5.0)
# hashed words, L1-CV, warmed on the other seeds' runs, and 2 answers first (difficulty.first_samples=2)
MODELS["smollm2_words_prior_first2"] = MODELS["smollm2_words_prior"]._replace(
    predicted_only=(*MODELS["smollm2_words_prior"].predicted_only, "difficulty.first_samples=2")
)
# the same with the held-out calls pinned at the post-hoc arm's 32 prompts (eval.chunk_size): the two arms then
# evaluate the initial policy with the same draws, and every later version with the same seeds
MODELS["smollm2_words_prior_first2_evalpin"] = MODELS["smollm2_words_prior_first2"]._replace(
    predicted_only=(*MODELS["smollm2_words_prior_first2"].predicted_only, "eval.chunk_size=32")
)
# two ablations of it, to tell what each part does to tokens, pairs and held-out reward: the warmed words predictor
# alone (4 answers per candidate), and the top-up alone (candidates in random order: every slot explores)
MODELS["smollm2_words_prior_evalpin"] = MODELS["smollm2_words_prior"]._replace(
    predicted_only=(*MODELS["smollm2_words_prior"].predicted_only, "eval.chunk_size=32")
)
MODELS["smollm2_first2_random_evalpin"] = MODELS["smollm2_first2"]._replace(
    predicted_only=(
        *MODELS["smollm2_first2"].predicted_only,
        "difficulty.features=words",
        "difficulty.explore=1.0",
        "eval.chunk_size=32",
    )  # fmt: skip
)


def run(run_dir: Path, cache: Path, *overrides: str) -> Path:
    """A run in ``run_dir``; one already finished there with the same overrides (``--work``) is reused."""
    stamp = run_dir / "bench_overrides.json"
    if stamp.exists() and json.loads(stamp.read_text()) == list(overrides):
        print(f"reusing {run_dir}", flush=True)
        return run_dir
    SelfPlayRunner(compose_config(*overrides, "tracking.backends=[]", f"run_dir={run_dir}", f"cache_dir={cache}")).run()
    write_json(list(overrides), stamp)
    return run_dir


def _name(overrides: tuple) -> str:
    return hashlib.sha1(json.dumps(list(overrides)).encode()).hexdigest()[:8]


def summary(run_dir: Path) -> dict:
    lines = read_jsonl(run_dir / "metrics.jsonl")
    rows = [x for x in lines if x["stage"] == "iteration"]
    select = [x for x in lines if x["stage"] == "select"]
    evals = [x["heldout_reward"] for x in lines if x["stage"] == "eval"]
    tokens, pairs = sum(r.get("tokens_generated", 0) for r in rows), sum(r.get("pairs_trained", 0) for r in rows)
    return {"tokens_per_pair": tokens / max(pairs, 1), "tokens": tokens, "pairs": pairs,
            "usable_per_iteration": statistics.mean(_usable(s) for s in select),
            "prompts_generated": sum(r["prompts_generated"] for r in rows),
            "per_iteration_s": statistics.mean(r["iteration_s"] for r in rows), "heldout": evals,
            "usable_auc": [s.get("usable_auc") for s in select],
            "difficulty_spearman": [s.get("difficulty_spearman") for s in select], **_pair_rewards(run_dir)}  # fmt: skip


def _pair_rewards(run_dir: Path) -> dict:
    """The trained pairs' mean chosen and rejected rewards (the pair scorer's raw score), over every iteration."""
    pairs = [pq.read_table(p, columns=["chosen_reward", "rejected_reward", "selected"])
             for p in sorted(run_dir.glob("iter_*/pairs.parquet"))]  # fmt: skip
    kept = [t.filter(t.column("selected")) for t in pairs]
    n = sum(t.num_rows for t in kept)
    mean = {
        k: sum(pc.sum(t.column(k)).as_py() or 0.0 for t in kept) / max(n, 1)
        for k in ("chosen_reward", "rejected_reward")
    }
    return {"pair_chosen_reward": mean["chosen_reward"], "pair_rejected_reward": mean["rejected_reward"],
            "pair_margin": mean["chosen_reward"] - mean["rejected_reward"]}  # fmt: skip


def _usable(select: dict) -> int:
    if "usable_prompts" in select:
        return select["usable_prompts"]
    return select["pairs_candidates"]  # post-hoc, within builder: one candidate pair per usable prompt


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], model=("tiny", ", ".join(MODELS)), seeds=("3", "seeds"),
                      iterations=(None, "iterations per run"), prompts=(None, "post-hoc prompts per iteration"),
                      first_seed=("0", "the first seed"),
                      control=("no", "yes: also a second post-hoc run per seed with the predicted arm's rollout options"),
                      work=("", "keep the runs here (a finished run with the same overrides is reused)"))  # fmt: skip
    both, predicted_only, its, prompts, oversample, prior = MODELS[args.model]
    control = args.control == "yes"
    if control and not _own_rollout(predicted_only):
        raise SystemExit(f"--control yes: {args.model}'s predicted arm has no rollout or evaluation option of its own, "
                         "so its second post-hoc run would be the first one again")  # fmt: skip
    first = int(args.first_seed)
    seeds = [first] if args.quick else list(range(first, first + int(args.seeds)))
    its, prompts = ("2", "32") if args.quick else (args.iterations or its, args.prompts or prompts)
    cache = cache_dir()
    out = {"model": args.model, "seeds": seeds, "oversample": oversample, "iterations": int(its), "runs": {},
           "offline": [], "overrides": list(both), "predicted_overrides": list(predicted_only)}  # fmt: skip
    heldout = () if args.model.startswith("smollm2") else (f"task.n_heldout={64 if args.quick else 128}",)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp).resolve()
        common = {s: (*both, f"seed={s}", f"iterations={its}", *heldout) for s in seeds}
        # every post-hoc run first: a warmed predicted arm reads the other seeds'
        post_dirs = {s: _posthoc(work, cache, (*common[s], f"prompts_per_iteration={prompts}")) for s in seeds}
        for seed in seeds:
            post = summary(post_dirs[seed])
            budget = max(1, round(post["usable_per_iteration"]))
            others = ",".join(str(post_dirs[s]) for s in seeds if s != seed)
            warm = [f"difficulty.prior_runs=[{others}]"] if prior and others else []
            pred_dir = run(work / f"{args.model}-predicted-{seed}", cache, *common[seed], *predicted_only, *warm,
                           f"prompts_per_iteration={budget}", "difficulty.source=predicted",
                           f"difficulty.oversample={oversample}")  # fmt: skip
            out["runs"][seed] = {"posthoc": post, "predicted": summary(pred_dir), "budget": budget}
            usables = HISTORY_USABLE if "reward=sort_exact" in both else ("share",)
            for name, how in [("learned", None)] + [(n, h) for n in ("history", "both") for h in usables]:
                out["offline"] += [{"seed": seed, **r} for r in evaluate(pred_dir, name, history_usable=how)]
            p = out["runs"][seed]
            print(f"seed {seed}: budget {budget}; tokens per pair post-hoc {post['tokens_per_pair']:.1f}, "
                  f"predicted {p['predicted']['tokens_per_pair']:.1f}; held-out {post['heldout'][-1]:.3f} vs "
                  f"{p['predicted']['heldout'][-1]:.3f}", flush=True)  # fmt: skip
        if control:
            _control(out["runs"], work, cache, common, predicted_only, prompts)
    out["compare"] = compare(out["runs"])
    if control:
        out["compare_control"] = compare_control(out["runs"])
    name = ("predicted" if args.model == "tiny" else f"predicted_{args.model}") + (f"_from{first}" if first else "")
    write_result(name, out, args.out, args.quick)


def _control(runs: dict, work: Path, cache: Path, common: dict, predicted_only: tuple, prompts: str) -> None:
    """A second post-hoc run per seed, with the predicted arm's options that are not ``difficulty.*`` (its rollout
    calls, its evaluation's): the same selection, other draws. How far two post-hoc runs of a seed differ is the
    noise an arm's comparison with one of them carries."""
    extra = _own_rollout(predicted_only)
    for seed, entry in runs.items():
        entry["posthoc_control"] = summary(
            _posthoc(work, cache, (*common[seed], *extra, f"prompts_per_iteration={prompts}"))
        )


def _posthoc(work: Path, cache: Path, overrides: tuple) -> Path:
    """A post-hoc run in ``work``, named by its overrides (so settings that share them share the run)."""
    return run(work / f"posthoc-{_name(overrides)}", cache, *overrides)


def _own_rollout(predicted_only: tuple) -> tuple:
    """The predicted arm's options that are not ``difficulty.*``: its rollout's and its evaluation's."""
    return tuple(o for o in predicted_only if not o.startswith("difficulty."))


def compare_control(runs: dict) -> dict:
    """The second post-hoc run against the first; the predicted arm against the second; and against both pooled
    (tokens over pairs of the two runs, held-out reward their mean), with t-intervals over seeds of per-seed means."""
    swap = {s: {"posthoc": r["posthoc_control"], "predicted": r["predicted"]} for s, r in runs.items()}
    twin = {s: {"posthoc": r["posthoc"], "predicted": r["posthoc_control"]} for s, r in runs.items()}
    ratio, held = [], []
    for r in runs.values():
        a, b, p = r["posthoc"], r["posthoc_control"], r["predicted"]
        ratio.append(p["tokens_per_pair"] * (a["pairs"] + b["pairs"]) / (a["tokens"] + b["tokens"]))
        held.append(float(np.mean([p["heldout"][k] - (a["heldout"][k] + b["heldout"][k]) / 2
                                   for k in range(1, len(p["heldout"]))])))  # fmt: skip
    return {"control_vs_posthoc": compare(twin), "predicted_vs_control": compare(swap),
            "predicted_vs_both": {"tokens_per_pair_ratio": paired(ratio), "heldout_diff_per_seed": paired(held)}}  # fmt: skip


def pool(parts: list[dict], runs: dict) -> dict:
    """A setting's parts (``benchmarks.merge``) compared over all their seeds' ``runs``; ``compare_control`` where
    every seed has its second post-hoc run."""
    out = {"offline": [row for part in parts for row in part["offline"]], "compare": compare(runs)}
    if all("posthoc_control" in r for r in runs.values()):
        out["compare_control"] = compare_control(runs)
    return out


def compare(runs: dict) -> dict:
    """Ratios and paired differences, predicted against post-hoc."""
    seeds = sorted(runs)
    ratio = [runs[s]["predicted"]["tokens_per_pair"] / runs[s]["posthoc"]["tokens_per_pair"] for s in seeds]
    diffs, groups = [], []
    for s in seeds:
        a, b = runs[s]["posthoc"]["heldout"], runs[s]["predicted"]["heldout"]
        for k in range(1, min(len(a), len(b))):  # every iteration's evaluation, the initial one excluded
            diffs.append(b[k] - a[k])
            groups.append(s)
    final = [runs[s]["predicted"]["heldout"][-1] - runs[s]["posthoc"]["heldout"][-1] for s in seeds]
    return {
        "tokens_per_pair_ratio": {"mean": float(np.mean(ratio)), "values": ratio},
        "heldout_diff_per_iteration": {"mean": float(np.mean(diffs)), "ci": cluster_bootstrap_ci(diffs, groups)},
        "final_heldout_diff": {"mean": float(np.mean(final)), "values": final},
        "pair_margin": {arm: [runs[s][arm].get("pair_margin") for s in seeds] for arm in ("posthoc", "predicted")},
        "per_iteration_s_ratio": float(np.mean([runs[s]["predicted"]["per_iteration_s"]
                                                / runs[s]["posthoc"]["per_iteration_s"] for s in seeds])),
    }  # fmt: skip


if __name__ == "__main__":
    main()
