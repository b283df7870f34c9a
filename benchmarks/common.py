"""Shared helpers for the benchmarks: the machine, timing, peak FLOP/s, and atomic JSON results."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
from scipy import stats

from benchmarks.studies.provenance import cpu_model, label, today
from benchmarks.studies.provenance import machine as provenance_machine

RESULTS = Path(__file__).resolve().parent / "results"
# the demo's policy, prepared by `make demo-models` (the SmolLM2 benchmarks' model)
SMOLLM2 = Path("~/.cache/spo/models/smollm2").expanduser()


def family(name: str) -> str:
    """A result's family, by its name's first word: ``overlap_smollm2_it6`` is an ``overlap`` result."""
    return name.split("_")[0]


def machine() -> dict:
    """What the numbers were measured on."""
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
    }


def parse_args(description: str, **extra: tuple[str, str]) -> argparse.Namespace:
    """``--quick`` (tiny sizes, for the test suite), ``--out`` (where the JSON goes), and ``--<name>``
    options given as ``name=(default, help)``."""
    parser = argparse.ArgumentParser(description=description)
    for name, (default, help_text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=default, help=help_text)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs, not how fast")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for <name>.json")
    return parser.parse_args()


def cache_dir() -> Path:
    """spo's model cache; ``SPO_CACHE`` moves it (the test suite points it at a temporary one)."""
    return Path(os.environ.get("SPO_CACHE", "~/.cache/spo")).expanduser()


def start_ray(num_cpus: int) -> None:
    """A fresh local Ray cluster with spo's actor environment."""
    import ray

    from spo.cluster.connect import actor_env

    env = actor_env(str(cache_dir()))
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, runtime_env={"env_vars": env})


def best_of(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_matmul_flops(n: int = 1024, repeats: int = 5) -> float:
    """This machine's fp32 matmul FLOP/s, measured now with the current torch thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    seconds = best_of(lambda: torch.mm(a, b), repeats)
    return 2 * n**3 / seconds


def profile_top(fn, rows: int = 12) -> str:
    """Run ``fn`` under cProfile; the top ``rows`` functions by own time, as text."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime").print_stats(rows)
    lines = [x for x in buf.getvalue().splitlines() if x.strip()]
    start = next(i for i, x in enumerate(lines) if x.lstrip().startswith("ncalls"))
    return "\n".join(lines[start : start + rows + 1])


def produced_by() -> dict:
    """What produced a result: the commit (``-dirty`` with uncommitted changes), the exact command, the date,
    and the machine with the package versions (the studies' provenance line)."""
    main = sys.modules["__main__"]
    module = main.__spec__.name if getattr(main, "__spec__", None) else Path(sys.argv[0]).name
    return {"commit": label(), "command": shlex.join(["python", "-m", module, *sys.argv[1:]]),
            "date": today(), "machine": provenance_machine()}  # fmt: skip


def write_result(name: str, result: dict, out: Path, quick: bool) -> Path:
    """Write ``<out>/<name>.json`` atomically, with the machine description and what produced it."""
    from spo.io import write_json

    path = Path(out) / f"{name}.json"
    write_json({"benchmark": name, "quick": quick, "machine": machine(), "produced_by": produced_by(), **result}, path)
    print(f"wrote {path}", flush=True)
    return path


CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def compose_config(*overrides: str):
    """A validated-schema run config from ``conf/`` and Hydra ``overrides``, as ``python -m spo.train`` composes it."""
    from hydra import compose, initialize_config_dir

    from spo.config import register, to_config

    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return to_config(compose("config", overrides=list(overrides)))


def paired(values: list[float]) -> dict:
    """Mean and 95% t-interval over seeds."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return {"mean": mean, "ci": None, "values": values}
    half = float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / len(values) ** 0.5
    return {"mean": mean, "ci": [mean - half, mean + half], "values": values}
