"""Pool a benchmark's result JSONs, measured in parts (seeds 0-2, then 3-5 with ``--first-seed 3``, ...), into one.

``python -m benchmarks.merge NAME PART...`` reads ``<out>/<PART>.json`` for every part and writes ``<out>/<NAME>.json``:
the parts' runs, seeds and offline rows together, and every comparison recomputed over all the seeds by the
benchmark's own functions (``POOL``, by the name's family: ``predicted_*`` by ``bench_predicted.pool``,
``overlap_*`` by ``bench_overlap.pool``). Parts must be of one family and one setting, measured on one machine (the
keys in ``SAME``), and share no seed; the pooled result names each part's file, commit and command, and records the
parts' machine (its ``produced_by`` is the pooling's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks import bench_overlap, bench_predicted
from benchmarks.common import RESULTS, family, write_result

POOL = {"predicted": bench_predicted.pool, "overlap": bench_overlap.pool}
# the comparison a family's part carries (predicted_stale, say, is named like a predicted result and is not one)
COMPARED = {"predicted": "compare", "overlap": "vs_sync"}
# what makes two parts the same setting, where a part records it, and the machine they were measured on (the pooled
# result records theirs: its ratios were measured there, only pooled here)
SAME = ("model", "quick", "overrides", "predicted_overrides", "iterations", "oversample", "machine")


def load(out: Path, names: list[str]) -> tuple[str, list[dict]]:
    """The parts' family and the parts, checked to be one family's, one setting's, with no seed measured twice."""
    families = {family(name) for name in names}
    if len(families) != 1 or not families <= POOL.keys():
        raise SystemExit(f"parts {names}: all must be of one family of {sorted(POOL)}, by name")
    (kind,) = families
    parts, seen, compared = [], {}, COMPARED[kind]
    for name in names:
        path = out / f"{name}.json"
        if not path.exists():
            raise SystemExit(f"{path}: no such result")
        part = json.loads(path.read_text())
        if compared not in part:
            raise SystemExit(f"{path}: no {compared!r}, so not a result this family's benchmark wrote")
        first = parts[0] if parts else part
        for key in (k for k in SAME if part.get(k) != first.get(k)):
            raise SystemExit(f"{path}: {key} is {part.get(key)!r} where {names[0]}'s is {first.get(key)!r}")
        for seed in part["seeds"]:
            if seed in seen:
                raise SystemExit(f"{path}: seed {seed} is already in {seen[seed]}")
            seen[seed] = name
        part["runs"] = {int(seed): run for seed, run in part["runs"].items()}  # JSON keys are strings
        parts.append(part)
    return kind, parts


def merge(name: str, parts: list[str], out: Path = RESULTS) -> Path:
    kind, loaded = load(out, parts)
    pooled = {key: loaded[0][key] for key in SAME if key in loaded[0] and key != "quick"}  # with the parts' machine
    pooled["runs"] = {seed: run for part in loaded for seed, run in sorted(part["runs"].items())}
    pooled["seeds"] = sorted(pooled["runs"])
    made = [p.get("produced_by") or {"commit": "unrecorded", "command": None} for p in loaded]  # older results
    pooled["parts"] = [{"name": n, "commit": m["commit"], "command": m["command"]} for n, m in zip(parts, made)]
    pooled.update(POOL[kind](loaded, pooled["runs"]))
    return write_result(name, pooled, out, loaded[0]["quick"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the pooled result's name")
    parser.add_argument("parts", nargs="+", help="the parts' names (<out>/<part>.json)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of the parts and the pooled result")
    args = parser.parse_args()
    merge(args.name, args.parts, args.out)


if __name__ == "__main__":
    main()
