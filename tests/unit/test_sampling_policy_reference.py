"""``learner.reference=sampling_policy``: which pairs take the sampler's log-probs as their reference."""

import pytest
import torch

from spo.learner.sampler_reference import older, take


def pair(pid, version, logps=(-3.0, -4.0), generator="tiny", other_version=None):
    return {"prompt_id": pid, "generator_chosen": generator, "generator_rejected": generator,
            "policy_version_chosen": version, "policy_version_rejected": version if other_version is None else other_version,
            "sampler_logps_chosen": logps and logps[0], "sampler_logps_rejected": logps and logps[1]}  # fmt: skip


def test_pairs_of_older_versions_take_the_log_probs_of_the_policy_that_sampled_them():
    rows = [pair("fresh", 2), pair("lagged", 1, (-1.5, -2.5)), pair("older", 0), pair("fresh-cut", 2, None)]
    past, _, without = older(rows, "tiny", 2)
    assert [r["prompt_id"] for r in past] == ["lagged", "older"] and without == []  # current ones: the checks'
    take(past)
    assert float(past[0]["ref_chosen"]) == -1.5 and float(past[0]["ref_rejected"]) == -2.5
    assert past[0]["ref_chosen"].dtype == torch.float32


@pytest.mark.parametrize(
    "row",
    [pair("cut", 1, None), pair("mixed", 1, other_version=0), pair("other-pool", 1, generator="big")],
    ids=["no log-probs", "two versions", "another generator"],
)
def test_a_lagged_pair_without_its_sampling_policys_log_probs_is_set_apart(row):
    past, _, without = older([pair("fine", 1), row], "tiny", 2)
    assert [r["prompt_id"] for r in past] == ["fine"] and without == [row]
