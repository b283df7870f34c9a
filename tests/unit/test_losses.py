"""Each loss against a hand-computed value, plus autograd gradient checks."""

import math

import pytest
import torch

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, compute_loss
from spo.plugins import LOSSES


def log_sigmoid(z):
    return -math.log1p(math.exp(-z))


def sig(z):
    return 1 / (1 + math.exp(-z))


# One pair: chosen log-ratio c = -1 - (-2) = 1, rejected log-ratio r = -3 - (-2.5) = -0.5, h = 1.5.
ONE = dict(
    policy_chosen=torch.tensor([-1.0]),
    policy_rejected=torch.tensor([-3.0]),
    ref_chosen=torch.tensor([-2.0]),
    ref_rejected=torch.tensor([-2.5]),
    chosen_tokens=torch.tensor([2.0]),
    rejected_tokens=torch.tensor([4.0]),
    policy_kl=torch.tensor([-2.0]),
    ref_kl=torch.tensor([-2.4]),
)
H = 1.5


@pytest.mark.parametrize(
    "name,params,expected",
    [
        ("dpo", LossParams(beta=0.5), -log_sigmoid(0.75)),
        ("dpo", LossParams(beta=0.5, label_smoothing=0.1), -0.9 * log_sigmoid(0.75) - 0.1 * log_sigmoid(-0.75)),
        ("robust", LossParams(beta=0.5, label_smoothing=0.1),
         (-0.9 * log_sigmoid(0.75) + 0.1 * log_sigmoid(-0.75)) / 0.8),
        # per-token log-ratios: c/|yc| - r/|yr| = 1/2 - (-0.5)/4 = 0.625 (TRL's and the IPO authors' form)
        ("ipo", LossParams(beta=0.5), (0.625 - 1.0) ** 2),
        ("ipo_sum", LossParams(beta=0.5), (H - 1.0) ** 2),
        ("hinge", LossParams(beta=0.5), 1 - 0.75),
        ("hinge", LossParams(beta=1.0), 0.0),
        ("simpo", LossParams(beta=2.0, gamma=0.5), -log_sigmoid(2.0 * (-1 / 2 - -3 / 4) - 0.5)),
        # z = 2 (-1/2 + 3/4) - 0.2 = 0.3; label smoothing e = 0.1 as in TRL's CPOTrainer
        ("simpo", LossParams(beta=2.0, gamma=0.2, label_smoothing=0.1), -0.9 * log_sigmoid(0.3) - 0.1 * log_sigmoid(-0.3)),
        # z0 = max(0, -2.0 - -2.4) = 0.4; desirable 1 - s(b (c - z0)), undesirable 1 - s(b (z0 - r)), averaged
        ("kto", LossParams(beta=0.5), ((1 - sig(0.5 * (1 - 0.4))) + (1 - sig(0.5 * (0.4 + 0.5)))) / 2),
        ("kto", LossParams(beta=0.5, desirable_weight=2.0), (2 * (1 - sig(0.3)) + (1 - sig(0.45))) / 2),
    ],
)  # fmt: skip
def test_loss_matches_hand_computed_value(name, params, expected):
    out = compute_loss(name, LossInputs(**ONE), params)
    assert out.losses.item() == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_implicit_rewards_and_nll_term():
    out = compute_loss("dpo", LossInputs(**ONE), LossParams(beta=0.5))
    assert (out.chosen_rewards.item(), out.rejected_rewards.item()) == pytest.approx((0.5, -0.25))
    with_nll = compute_loss("dpo", LossInputs(**ONE), LossParams(beta=0.5, nll_weight=0.5))
    assert with_nll.losses.item() == pytest.approx(out.losses.item() + 0.5 * 1.0 / 2)  # -(-1)/2 tokens


def test_kto_baseline_is_clamped_at_zero():
    x = LossInputs(**{**ONE, "policy_kl": torch.tensor([-3.0]), "ref_kl": torch.tensor([-2.0])})
    out = compute_loss("kto", x, LossParams(beta=0.5))
    assert out.losses.item() == pytest.approx(((1 - sig(0.5)) + (1 - sig(0.25))) / 2)


def test_dpo_is_log2_at_the_reference():
    zero = torch.zeros(3)
    out = compute_loss("dpo", LossInputs(zero, zero, zero, zero), LossParams())
    assert torch.allclose(out.losses, torch.full((3,), math.log(2.0)))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_match_finite_differences(name):
    torch.manual_seed(0)
    base = {k: (v.double() + torch.randn(1).double() * 0.1).repeat(3) for k, v in ONE.items()}
    base["chosen_tokens"] = torch.tensor([2.0, 3.0, 5.0], dtype=torch.float64)
    base["rejected_tokens"] = torch.tensor([4.0, 1.0, 2.0], dtype=torch.float64)
    pc = base.pop("policy_chosen").requires_grad_()
    pr = base.pop("policy_rejected").requires_grad_()

    def f(pc, pr):
        return compute_loss(name, LossInputs(pc, pr, **base), LossParams(beta=0.7, label_smoothing=0.1)).losses.sum()

    assert torch.autograd.gradcheck(f, (pc, pr))


@pytest.mark.parametrize("name", ["dpo", "ipo", "ipo_sum", "hinge", "robust", "simpo", "kto"])
def test_gradient_raises_chosen_and_lowers_rejected(name):
    pc = torch.tensor([-2.0], requires_grad=True)
    pr = torch.tensor([-2.0], requires_grad=True)
    x = LossInputs(pc, pr, torch.tensor([-2.0]), torch.tensor([-2.0]), torch.tensor([2.0]), torch.tensor([2.0]),
                   torch.tensor([-2.0]), torch.tensor([-2.0]))  # fmt: skip
    compute_loss(name, x, LossParams(beta=0.5)).losses.sum().backward()
    assert pc.grad.item() < 0 < pr.grad.item()


def _trl_cpo_loss(loss_type: str, beta: float, gamma: float, smoothing: float, pc, pr):
    """TRL's own CPOTrainer.cpo_loss (SimPO is its loss_type="simpo"), called on mean token log-probs."""
    from types import SimpleNamespace

    from trl.experimental.cpo.cpo_trainer import CPOTrainer

    fake = SimpleNamespace(alpha=0.0, loss_type=loss_type, beta=beta, simpo_gamma=gamma, label_smoothing=smoothing,
                           accelerator=SimpleNamespace(device=pc.device))  # fmt: skip
    return CPOTrainer.cpo_loss(fake, pc, pr)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_simpo_matches_trls_cpo_trainer_code(smoothing):
    torch.manual_seed(1)
    pc, pr = -torch.rand(8, dtype=torch.float64) * 40, -torch.rand(8, dtype=torch.float64) * 40
    nc, nr = torch.randint(1, 30, (8,)).double(), torch.randint(1, 30, (8,)).double()
    params = LossParams(beta=2.0, gamma=0.7, label_smoothing=smoothing)
    ours = compute_loss("simpo", LossInputs(pc, pr, chosen_tokens=nc, rejected_tokens=nr), params)
    losses, chosen, rejected = _trl_cpo_loss("simpo", 2.0, 0.7, smoothing, pc / nc, pr / nr)
    torch.testing.assert_close(ours.losses, losses, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.chosen_rewards, chosen)
    torch.testing.assert_close(ours.rejected_rewards, rejected)


def test_ipo_is_trls_per_token_form_and_does_not_grow_with_length():
    """TRL's DPOTrainer ("ipo"): chosen/rejected log-ratios each divided by their completion length, then
    (delta - 1/(2 beta))^2 (the IPO paper's Eq. 17, normalised as its authors confirmed). Doubling every
    response's length at the same per-token log-ratio leaves the loss unchanged; the summed form grows."""
    torch.manual_seed(2)
    pc, pr, rc, rr = (-torch.rand(6, dtype=torch.float64) * 30 for _ in range(4))
    nc, nr = torch.randint(1, 20, (6,)).double(), torch.randint(1, 20, (6,)).double()
    expected = (((pc - rc) / nc - (pr - rr) / nr) - 1 / (2 * 0.3)) ** 2
    x = LossInputs(pc, pr, rc, rr, nc, nr)
    torch.testing.assert_close(compute_loss("ipo", x, LossParams(beta=0.3)).losses, expected, rtol=1e-12, atol=0)
    doubled = LossInputs(2 * pc, 2 * pr, 2 * rc, 2 * rr, 2 * nc, 2 * nr)
    torch.testing.assert_close(compute_loss("ipo", doubled, LossParams(beta=0.3)).losses, expected)
    summed = compute_loss("ipo_sum", x, LossParams(beta=0.3)).losses
    assert not torch.allclose(compute_loss("ipo_sum", doubled, LossParams(beta=0.3)).losses, summed)


@pytest.mark.parametrize("loss", ["ipo", "hinge", "kto", "ipo_sum"])
def test_label_smoothing_is_refused_where_the_loss_ignores_it(loss):
    from spo.errors import ConfigError
    from spo.learner.config import LearnerConfig

    LearnerConfig(loss=loss).validate()
    with pytest.raises(ConfigError, match=f"^learner.label_smoothing: learner.loss={loss} does not use label smoo"):
        LearnerConfig(loss=loss, label_smoothing=0.1).validate()
    for ok in ("dpo", "robust", "simpo"):
        LearnerConfig(loss=ok, label_smoothing=0.1).validate()
