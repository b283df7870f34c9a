"""The generated-samples table (``spo.schemas.generated_schema``) from prompt rows and completions.

One function for every producer of samples: the generator actors, and reference answers scored
as if a generator named ``reference`` had written them.
"""

from __future__ import annotations

import pyarrow as pa

from spo.schemas import generated_schema


def samples_table(rows: list[dict], completions: list[list], generator: str, policy_version: int, iteration: int,
                  sample_offset: int = 0) -> pa.Table:  # fmt: skip
    """One row per completion: ``completions[i]`` are prompt ``rows[i]``'s (``text``, ``n_tokens``,
    ``logprob_sum``, ``finish_reason``), numbered from ``sample_offset``."""
    out = {name: [] for name in generated_schema().names}
    for row, comps in zip(rows, completions):
        for idx, c in enumerate(comps):
            out["prompt_id"].append(row["prompt_id"])
            out["prompt"].append(row["prompt"])
            out["context"].append(row.get("context"))
            out["response"].append(c.text)
            out["sample_idx"].append(sample_offset + idx)
            out["generator"].append(generator)
            out["policy_version"].append(policy_version)
            out["iteration"].append(iteration)
            out["n_tokens"].append(c.n_tokens)
            out["logprob_sum"].append(c.logprob_sum)
            out["finish_reason"].append(c.finish_reason)
            out["score_error"].append(None)
    return pa.Table.from_pydict(out, schema=generated_schema())
