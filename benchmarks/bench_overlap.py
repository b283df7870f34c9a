"""Pipeline modes side by side: ``sync``, ``one_step_off`` and ``async``, held-out reward against wall time.

Every mode runs in the split layout, each role owning its cores as it owns its GPUs on a cluster: the
generator on one core (1 thread), one learner rank on the other (1 thread); ``--pin yes`` also pins each
role's processes to its core (``PIN``). ``sync_fast`` is the best ``sync`` a CPU-only user would run on the
same 2 cores: every stage using both in turn (generator 2 threads, 2 learner ranks). Per seed, runs are
interleaved (mode order rotates with the seed).

The headline is time to a target held-out reward: the split ``sync`` run's initial reward plus
``TARGET_GAIN`` of its gain by the last iteration, per seed; a run's time is the wall time (from the
first iteration's start) at which its first evaluation reaches it. Also: final held-out reward at equal
iterations paired by seed, wall time per iteration, each role's idle fraction over the run, and, from
the split ``sync`` runs' stage times, what the overlap gives as the rollout's share of a step varies.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import cache_dir, compose_config, paired, parse_args, write_result
from spo.runner import SelfPlayRunner

TARGET_GAIN = 0.8
# Ray's CPUs are logical: 3 lets the scorers' actors be placed beside a 1-CPU generator and a 1-CPU learner rank;
# the cores each role really uses are set by its threads (1 + 1 in the split layout, on 2 cores).
SPLIT = ("cluster.num_cpus=3", "cluster.generator_cpus=1", "cluster.generator_threads=1", "learner.num_ranks=1",
         "cluster.learner_cpus=1", "cluster.learner_threads=1", "cluster.scorer_cpus=0.25")  # fmt: skip
# --pin: the split modes with each role pinned to its core (generator and scorers on core 0, 1 thread each; the
# learner on core 1). Measured slower on SmolLM2 (pipeline.md): the learner's training state save, queued on its
# rank ahead of the next training call when pipelined (findings.md), then has only the learner's core
PIN = (
    "cluster.scorer_threads=1",
    "cluster.generator_cores=[0]",
    "cluster.scorer_cores=[0]",
    "cluster.learner_cores=[1]",
)
FAST = ("cluster.num_cpus=3", "cluster.generator_cpus=1", "cluster.generator_threads=2", "learner.num_ranks=2",
        "cluster.learner_cpus=0.5", "cluster.learner_threads=1", "cluster.scorer_cpus=0.25")  # fmt: skip
MODES = {"sync": ("pipeline=sync", *SPLIT), "one_step_off": ("pipeline=one_step_off", *SPLIT),
         "async": ("pipeline=async", *SPLIT), "sync_fast": ("pipeline=sync", *FAST),
         # not in the default set: one_step_off with each lagged pair's reference its sampling policy
         "one_step_off_sp": ("pipeline=one_step_off", "learner.reference=sampling_policy", *SPLIT),
         "async_sp": ("pipeline=async", "learner.reference=sampling_policy", *SPLIT)}  # fmt: skip
DEFAULT_MODES = ("sync", "one_step_off", "async", "sync_fast")
MODELS = {
    "tiny": ("experiment=tiny", "iterations=6", "prompts_per_iteration=256"),
    "smollm2": ("experiment=smollm2_ifeval", "iterations=3"),
}


# each iteration's stage times and counts, kept in the result beside the summary; train_s is the driver's wait for
# the learner, its phases (train_*_s) the rank's own time: the difference is what the rank did first (a queued save)
ITERATION_KEYS = ("iteration_s", "rollout_s", "generate_s", "score_s", "train_s", "eval_s", "sync_s", "checkpoint_s",
                  "generator_busy_s", "learner_busy_s", "scorer_busy_s", "pairs_trained", "tokens_generated",
                  "pair_staleness_mean", "heldout_reward", "state_wait_s", "train_forward_s", "train_backward_s",
                  "train_reference_s", "train_step_s", "response_tokens_trained")  # fmt: skip
QUICK = ("iterations=2", "prompts_per_iteration=32", "task.n_heldout=16")


def run(model: str, mode: str, overrides: tuple, seed: int, work: Path, cache: Path, extra: tuple = ()) -> list[dict]:
    """One run's iteration rows; its directory is removed after it (a SmolLM2 run keeps 3.7 GB of learner state
    and checkpoints, which nine runs of a benchmark would otherwise hold until its end)."""
    run_dir = work / f"{model}-{mode}-{seed}"
    cfg = compose_config(*MODELS[model], *overrides, *extra, f"seed={seed}", f"run_dir={run_dir}",
                         f"cache_dir={cache}", "tracking.backends=[]")  # fmt: skip
    rows = SelfPlayRunner(cfg).run()
    shutil.rmtree(run_dir)
    return rows


def time_to(rows: list[dict], target: float) -> float | None:
    """Wall time at which the first evaluation reaches ``target`` (``None`` if none does)."""
    return next((r["elapsed_s"] for r in rows[1:] if r["heldout_reward"] >= target - 1e-12), None)


def summary(rows: list[dict], target: float) -> dict:
    done = rows[1:]
    wall = done[-1]["elapsed_s"]
    out = {"initial": rows[0]["heldout_reward"], "final": done[-1]["heldout_reward"], "wall_s": wall,
           "per_iteration_s": wall / len(done), "time_to_target_s": time_to(rows, target),
           "curve": [(r["elapsed_s"], r["heldout_reward"]) for r in done],
           "iterations": [{k: r.get(k) for k in ITERATION_KEYS} for r in done]}  # fmt: skip
    for role in ("generator", "learner", "scorer"):
        out[f"{role}_idle_fraction"] = 1 - sum(r[f"{role}_busy_s"] for r in done) / wall
    out["pair_staleness_mean"] = statistics.mean(r.get("pair_staleness_mean", 0.0) for r in done)
    for key in ("pairs_trained", "reference_from_sampler", "reference_not_sampling_policy"):
        out[key] = sum(r.get(key) or 0 for r in done)  # where each pair's reference came from
    return out


def compare(per_seed: dict[int, dict[str, dict]]) -> dict:
    """Per mode against split ``sync``: speed-up to target, final-reward difference, per-iteration speed-up."""
    out = {}
    for mode in next(iter(per_seed.values())):
        if mode == "sync":
            continue
        speed, final, per_it, missed = [], [], [], 0
        for runs in per_seed.values():
            base, other = runs["sync"], runs[mode]
            if base["time_to_target_s"] and other["time_to_target_s"]:
                speed.append(base["time_to_target_s"] / other["time_to_target_s"])
            else:
                missed += 1
            final.append(other["final"] - base["final"])
            per_it.append(base["per_iteration_s"] / other["per_iteration_s"])
        out[mode] = {"time_to_target_speedup": paired(speed) if speed else None, "target_missed": missed,
                     "final_reward_diff": paired(final), "per_iteration_speedup": paired(per_it)}  # fmt: skip
    return out


def simulated(per_seed: dict[int, dict[str, dict]], stages: list[dict]) -> dict:
    """Step time with overlap, ``max(L, R + E) + O``, against ``R + L + E + O`` (R rollout, L learning, E
    evaluation, O the rest), from the measured split-sync stage times, and as the rollout's share varies."""

    def mean(key):
        return statistics.mean(s.get(key) or 0.0 for s in stages)

    r, e, learn = mean("rollout_s"), mean("eval_s"), mean("train_s")
    other = mean("iteration_s") - r - e - learn
    measured = (r + learn + e + other) / (max(learn, r + e) + other)
    shares = {}
    for share in (0.3, 0.4, 0.5, 0.6, 0.7):  # generation (rollout + eval) share of R + L + E, O kept at its share
        total = r + learn + e
        gen, lrn = share * total, (1 - share) * total
        shares[str(share)] = (total + other) / (max(gen, lrn) + other)
    return {"rollout_s": r, "eval_s": e, "train_s": learn, "other_s": other, "measured_ratio": measured,
            "by_generation_share": shares}  # fmt: skip


def bench(model: str, seeds: list[int], cache: Path, extra: tuple, modes: dict[str, tuple], save) -> dict:
    """Every mode (name: overrides) for every seed; ``save(result)`` after each seed, so a long benchmark keeps
    what it measured."""
    per_seed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            order = list(modes)[seed % len(modes) :] + list(modes)[: seed % len(modes)]
            rows = {mode: run(model, mode, modes[mode], seed, Path(tmp), cache, extra) for mode in order}
            base = rows["sync"]
            target = base[0]["heldout_reward"] + TARGET_GAIN * (base[-1]["heldout_reward"] - base[0]["heldout_reward"])
            per_seed[seed] = {mode: summary(r, target) for mode, r in rows.items()}
            for mode, s in per_seed[seed].items():
                print(f"{model} seed {seed} {mode:>12}: final {s['final']:.3f}, {s['per_iteration_s']:.1f} s/iter,"
                      f" to target {s['time_to_target_s']}, idle gen {s['generator_idle_fraction']:.2f} "
                      f"learner {s['learner_idle_fraction']:.2f}", flush=True)  # fmt: skip
            per_seed[seed]["target"] = target
            result = {"model": model, "seeds": sorted(per_seed), "runs": per_seed, **_compared(per_seed)}
            save(result)
    return result


def _compared(per_seed: dict) -> dict:
    """Every mode against split ``sync`` over the seeds, and the overlap model from the split sync runs' stages."""
    runs = {s: {m: v for m, v in r.items() if m != "target"} for s, r in per_seed.items()}
    stages = [it for r in runs.values() for it in r["sync"]["iterations"]]
    return {"vs_sync": compare(runs), "simulated": simulated(runs, stages)}


def pool(parts: list[dict], per_seed: dict) -> dict:
    """Parts of one setting (``benchmarks.merge``) compared over all their seeds: each must have run the same modes
    for as many iterations."""
    shapes = {(tuple(sorted(r)), len(r["sync"]["iterations"])) for r in per_seed.values()}
    if len(shapes) != 1:
        raise SystemExit(f"overlap parts differ in their modes or iterations per run: {sorted(shapes)}")
    return _compared(per_seed)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], model=("tiny", "tiny or smollm2"), seeds=("3", "seeds per mode"),
                      modes=(",".join(DEFAULT_MODES), "comma-separated modes; sync is always run (the reference)"),
                      tag=("", "added to the result's name"),
                      first_seed=("0", "the first seed"),
                      pin=("no", "yes: the split modes pinned (PIN; named _pinned)"),
                      iterations=("", "iterations per run (default: the model's; named _it<n>)"))  # fmt: skip
    first = int(args.first_seed)
    seeds = [0] if args.quick else list(range(first, first + int(args.seeds)))
    modes = tuple(dict.fromkeys(["sync", *(["one_step_off"] if args.quick else args.modes.split(","))]))
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"--modes: unknown {unknown}; known: {list(MODES)}")
    name = "overlap" if args.model == "tiny" else f"overlap_{args.model}"
    name += f"_from_seed{first}" if first else ""
    extra = QUICK if args.quick else ()
    if args.iterations:
        name += f"_it{int(args.iterations)}"
        extra = (*extra, f"iterations={int(args.iterations)}")
    pin = PIN if args.pin == "yes" else ()
    name += "_pinned" if pin else ""
    name += f"_{args.tag}" if args.tag else ""
    table = {m: (*MODES[m], *(pin if set(SPLIT) <= set(MODES[m]) else ())) for m in modes}
    result = bench(args.model, seeds, cache_dir(), extra, table,
                   lambda r: write_result(name, r, args.out, args.quick))  # fmt: skip
    for mode, c in result["vs_sync"].items():
        t = c["time_to_target_speedup"]
        print(f"{args.model} {mode} vs split sync: time to target {_mean(t)} (CI {t and t['ci']}), final reward "
              f"{c['final_reward_diff']['mean']:+.3f} (CI {c['final_reward_diff']['ci']}), per iteration "
              f"{c['per_iteration_speedup']['mean']:.2f}x")  # fmt: skip


def _mean(d: dict | None) -> str:
    return f"{d['mean']:.2f}x" if d else "not reached"


if __name__ == "__main__":
    main()
