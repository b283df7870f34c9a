"""Held-out pair accuracy of an ifeval_lite reward model per constraint (``spo rm train``'s saved pairs).

A pair counts under each constraint whose check differs between its two answers: the constraints
that decided the label. Usage: ``python -m benchmarks.rm_constraints <rm dir>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq

from spo.tasks import ifeval_lite as ie


def per_constraint(rm_dir: Path) -> list[tuple[str, int, float, float]]:
    """(constraint, pairs, accuracy before, accuracy after) from ``heldout_pairs.parquet``."""
    rows = pq.read_table(rm_dir / "heldout_pairs.parquet").to_pylist()
    tally: dict[str, list[int]] = {}
    for r in rows:
        for c in ie.constraints_of(r["prompt"]):
            if ie.check(c, r["chosen"]) != ie.check(c, r["rejected"]):
                t = tally.setdefault(c.kind, [0, 0, 0])
                t[0] += 1
                t[1] += r["correct_before"]
                t[2] += r["correct"]
    return sorted(((k, n, b / n, a / n) for k, (n, b, a) in tally.items()), key=lambda x: -x[1])


def main() -> None:
    print("| constraint | held-out pairs | untrained head | trained |\n|---|---|---|---|")
    for kind, n, before, after in per_constraint(Path(sys.argv[1]).expanduser()):
        print(f"| {kind} | {n} | {before:.2f} | {after:.2f} |")


if __name__ == "__main__":
    main()
