import math

import torch

from spo.learner.losses import dpo_sigmoid


def test_dpo_sigmoid_matches_hand_computed_value():
    # beta=0.5; chosen log-ratio = -1 - (-2) = 1; rejected log-ratio = -3 - (-2.5) = -0.5
    out = dpo_sigmoid(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.5]), beta=0.5)
    z = 0.5 * (1.0 - (-0.5))  # 0.75
    assert math.isclose(out.losses.item(), math.log(1 + math.exp(-z)), rel_tol=1e-6)
    assert math.isclose(out.chosen_rewards.item(), 0.5, rel_tol=1e-6)
    assert math.isclose(out.rejected_rewards.item(), -0.25, rel_tol=1e-6)


def test_dpo_sigmoid_is_log2_at_reference_and_falls_with_margin():
    zero = torch.zeros(3)
    at_ref = dpo_sigmoid(zero, zero, zero, zero, beta=0.1).losses
    assert torch.allclose(at_ref, torch.full((3,), math.log(2.0)))
    better = dpo_sigmoid(torch.tensor([1.0]), torch.tensor([-1.0]), torch.zeros(1), torch.zeros(1), beta=0.1)
    assert better.losses.item() < math.log(2.0)


def test_dpo_gradient_pushes_chosen_up_and_rejected_down():
    pc = torch.tensor([-2.0], requires_grad=True)
    pr = torch.tensor([-2.0], requires_grad=True)
    dpo_sigmoid(pc, pr, torch.tensor([-2.0]), torch.tensor([-2.0]), beta=1.0).losses.sum().backward()
    assert pc.grad.item() < 0 < pr.grad.item()
    assert math.isclose(pc.grad.item(), -0.5, rel_tol=1e-6)
