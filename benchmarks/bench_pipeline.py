"""Pipeline overlap and generator scaling, through the real runner on the tiny experiment.

Overlap: the streamed rollout (generate -> score -> buffer chunk by chunk) against the same three
stages run one after the other over all chunks, on the same actors, in the same run. The share of
scoring and buffering hidden under generation is (serial - streamed) / (score + buffer time).
Scaling: one whole iteration with 1 against 2 generator actors on this machine's cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import ray

from benchmarks.common import cache_dir, compose_config, parse_args, write_result
from spo.assets.paths import resolve_model_path
from spo.assets.tiny import build_tiny_reward_model
from spo.data.schedule import chunks as split
from spo.rollout.base import SamplingParams
from spo.runner import SelfPlayRunner


def tiny_rm(cache: Path, policy: str) -> str:
    """A one-label tiny Llama reward model on the policy's tokenizer (built once), so scoring costs something."""
    out = cache / "bench-rm"
    if not (out / "config.json").exists():
        build_tiny_reward_model(policy, out, hidden_size=128, num_layers=2, intermediate_size=512)
    return str(out)


def config(run_dir: Path, cache: Path, *overrides: str):
    return compose_config("experiment=tiny", f"run_dir={run_dir}", f"cache_dir={cache}", "iterations=1",
                          "tracking.backends=[]", *overrides)  # fmt: skip


def serial_rollout(runner: SelfPlayRunner, iteration: int) -> dict:
    """Generate every chunk, then score every chunk, then buffer every chunk; each stage timed."""
    g = runner.cfg.generator
    rows = runner.schedule.iteration(iteration)
    chunks = split(rows, g.chunk_size)
    sampling = [
        SamplingParams(g.n_samples, g.temperature, g.top_p, g.max_new_tokens, 1000 + k) for k in range(len(chunks))
    ]
    start = time.perf_counter()
    generated = [runner.generators.submit(c, iteration, s) for c, s in zip(chunks, sampling)]
    ray.wait(generated, num_returns=len(generated), fetch_local=False)
    t_gen = time.perf_counter() - start
    start = time.perf_counter()
    scored = [runner.scorers.submit(ref) for ref in generated]
    ray.wait(scored, num_returns=len(scored), fetch_local=False)
    t_score = time.perf_counter() - start
    start = time.perf_counter()
    ray.get([runner.buffer.add.remote(ref) for ref in scored])
    t_buffer = time.perf_counter() - start
    return {"generate_s": t_gen, "score_s": t_score, "buffer_s": t_buffer, "sum_s": t_gen + t_score + t_buffer}


def overlap(cache: Path, work: Path, prompts: int) -> dict:
    rm = tiny_rm(cache, resolve_model_path(config(work / "overlap", cache).model, str(cache)))
    cfg = config(work / "overlap", cache, f"prompts_per_iteration={prompts}",
                 f"+reward.scorers={{rm:{{backend:sequence_classifier,path:{rm}}}}}")  # fmt: skip
    runner = SelfPlayRunner(cfg)
    runner.start()
    try:
        runner._stream(runner.schedule.iteration(0)[:32], 0, 4, 0, [runner.generators])  # warm-up
        runner.select(0)
        streamed, serial = [], []
        for rep in range(2):  # interleaved
            streamed.append(runner.rollout(1 + 2 * rep)["rollout_s"])
            runner.select(1 + 2 * rep)
            serial.append(serial_rollout(runner, 2 + 2 * rep))
            runner.select(2 + 2 * rep)
    finally:
        runner.shutdown()
    best = min(serial, key=lambda s: s["sum_s"])
    s = min(streamed)
    hidden = (best["sum_s"] - s) / (best["score_s"] + best["buffer_s"])
    return {"streamed_s": s, "serial": best, "streamed_vs_serial": s / best["sum_s"],
            "hidden_fraction": max(0.0, min(1.0, hidden))}  # fmt: skip


def iteration_time(cache: Path, work: Path, prompts: int, workers: int) -> dict:
    cpus = 1.0 if workers == 1 else 0.6
    threads = 2 if workers == 1 else 1
    cfg = config(work / f"gen{workers}", cache, f"prompts_per_iteration={prompts}", f"generator.num_workers={workers}",
                 f"cluster.generator_cpus={cpus}", f"cluster.generator_threads={threads}")  # fmt: skip
    rows = SelfPlayRunner(cfg).run()
    return {k: rows[-1][k] for k in ("iteration_s", "rollout_s", "train_s", "eval_s")}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    prompts = 32 if args.quick else 256
    cache = cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scaling = {w: iteration_time(cache, work, prompts, w) for w in (1, 2)}
        over = overlap(cache, work, prompts)
    result = {"prompts": prompts, "overlap": over, "generators": {f"{w}_actor": v for w, v in scaling.items()},
              "two_vs_one_actor_speedup": scaling[1]["iteration_s"] / scaling[2]["iteration_s"]}  # fmt: skip
    print(
        f"rollout streamed {over['streamed_s']:.2f}s vs serial {over['serial']['sum_s']:.2f}s "
        f"({over['streamed_vs_serial']:.2f}x); hidden share of scoring+buffering {over['hidden_fraction']:.0%}"
    )
    print(f"iteration: 1 generator {scaling[1]['iteration_s']:.1f}s, 2 generators {scaling[2]['iteration_s']:.1f}s "
          f"({result['two_vs_one_actor_speedup']:.2f}x)")  # fmt: skip
    write_result("pipeline", result, args.out, args.quick)


if __name__ == "__main__":
    main()
