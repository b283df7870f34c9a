"""The committed studies, one file each (a :class:`~benchmarks.studies.base.Study` named ``STUDY``).

``python -m benchmarks.studies run NAME`` (``make study-NAME``) runs a study's cells from scratch and
regenerates its block of its results file; ``make studies`` runs them all.
"""

from spo.registry import Registry

STUDIES = Registry(
    "study",
    "study",
    {
        "difficulty": "benchmarks.studies.difficulty:STUDY",
        "pair_metrics": "benchmarks.studies.pair_metrics:STUDY",
        "generator_delta": "benchmarks.studies.generator_delta:STUDY",
        "judge_filter": "benchmarks.studies.judge_filter:STUDY",
        "loss_family": "benchmarks.studies.loss_family:STUDY",
        "smollm2": "benchmarks.studies.smollm2:STUDY",
        "gold_difficulty": "benchmarks.studies.gold_difficulty:STUDY",
        "gold_pairs": "benchmarks.studies.gold_pairs:STUDY",
        "gold_judge": "benchmarks.studies.gold_judge:STUDY",
        "gold_capacity": "benchmarks.studies.gold_capacity:STUDY",
        "gold_helpful": "benchmarks.studies.gold_helpful:STUDY",
        "gold_capacity_helpful": "benchmarks.studies.gold_capacity_helpful:STUDY",
        "gold_pairs_helpful": "benchmarks.studies.gold_pairs_helpful:STUDY",
        "gold_capacity_tuned": "benchmarks.studies.gold_capacity_tuned:STUDY",
        "gold_pruning": "benchmarks.studies.gold_pruning:STUDY",
    },
)
