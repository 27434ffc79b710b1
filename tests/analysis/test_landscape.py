"""The C26 measuring devices: known answers they must reproduce (and so can fail)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from scratch.analysis.landscape import DriftingNoise, cross_entropy, drift, input_moments, landscape


class Quadratic(nn.Module):
    """Returns its weight vector; with ``loss = 0.5 sum(lam w^2)`` the Hessian is diag(lam)."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float64))

    def forward(self, x):
        return self.w


def quadratic_loss(lam):
    lam = torch.as_tensor(lam, dtype=torch.float64)
    return lambda out, y: 0.5 * (lam * out**2).sum()


def test_quadratic_along_one_axis_gives_its_curvature():
    lam = [3.0, 0.5]
    model = Quadratic([2.0, 0.0])
    out = landscape(model, torch.zeros(1), torch.zeros(1), [0.01, 0.1], quadratic_loss(lam))
    # g = lam w = (6, 0); grad(w - eta g) - g = -eta lam g, so beta = 3 exactly
    assert out["beta"] == pytest.approx(3.0, rel=1e-9)
    assert out["grad_norm"] == pytest.approx(6.0, rel=1e-9)
    assert out["grad_change"] == pytest.approx(0.1 * 3 * 6, rel=1e-9)
    assert out["loss"] == pytest.approx(6.0, rel=1e-9)
    # L(w - eta g) = 0.5 * 3 * (2 (1 - 3 eta))^2: 6 at 0, 5.6454 at 0.01, 2.94 at 0.1
    assert out["loss_range"] == pytest.approx(6.0 - 1.5 * (2 * 0.7) ** 2, rel=1e-9)


def test_beta_lies_between_the_curvatures_and_doubles_with_them():
    w, lam = [1.0, 1.0, 1.0], [0.5, 1.0, 4.0]
    x = torch.zeros(1)
    b1 = landscape(Quadratic(w), x, x, [0.1], quadratic_loss(lam))["beta"]
    b2 = landscape(Quadratic(w), x, x, [0.1], quadratic_loss([2 * v for v in lam]))["beta"]
    assert 0.5 < b1 < 4.0
    assert b2 == pytest.approx(2 * b1, rel=1e-9)


def test_a_linear_loss_is_perfectly_smooth():
    model = Quadratic([1.0, -2.0])
    out = landscape(
        model,
        torch.zeros(1),
        torch.zeros(1),
        [0.1, 1.0],
        lambda out, y: (torch.tensor([1.0, 2.0], dtype=torch.float64) * out).sum(),
    )
    assert out["beta"] == 0.0 and out["grad_change"] == 0.0
    assert out["loss_range"] == pytest.approx(1.0 * 5, rel=1e-9)  # slope ||g||^2 = 5, eta 1


def test_landscape_changes_nothing_in_the_model():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(5, 8), nn.BatchNorm1d(8), DriftingNoise(8), nn.ReLU(), nn.Linear(8, 3)
    )
    x, y = torch.randn(32, 5), torch.randint(0, 3, (32,))
    net(x)  # one step of the noise
    before = {k: v.clone() for k, v in net.state_dict().items()}
    out = landscape(net, x, y, [0.1, 0.5])
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in net.parameters())
    assert out["beta"] > 0 and math.isfinite(out["loss_range"])


def test_landscape_rejects_bad_step_sizes():
    with pytest.raises(ValueError, match="positive step sizes"):
        landscape(Quadratic([1.0]), torch.zeros(1), torch.zeros(1), [0.0, 1.0])


def test_cross_entropy_matches_torch():
    torch.manual_seed(1)
    logits, y = torch.randn(20, 7), torch.randint(0, 7, (20,))
    assert cross_entropy(logits, y).item() == pytest.approx(
        nn.functional.cross_entropy(logits, y).item(), rel=1e-6
    )


def test_noise_walks_and_jumps():
    torch.manual_seed(2)
    noise = DriftingNoise(4000, walk_shift=0.1, walk_log_scale=0.0, jump_shift=0.0, jump_scale=1.0)
    x = torch.zeros(2, 4000)
    for _ in range(400):
        out = noise(x)
    # a random walk: after 400 steps each unit's shift has sd 0.1 * sqrt(400) = 2
    assert out[0].std().item() == pytest.approx(2.0, rel=0.05)
    # not i.i.d. jitter: one more step moves each unit by ~0.1 only
    assert (noise(x)[0] - out[0]).std().item() == pytest.approx(0.1, rel=0.05)
    # shared by the batch
    assert torch.equal(out[0], out[1])


def test_noise_hold_and_eval():
    torch.manual_seed(3)
    noise = DriftingNoise(6)
    x = torch.randn(5, 6)
    a = noise(x)
    noise.hold = True
    assert torch.equal(noise(x), a)  # held: the same draw again
    noise.hold = False
    assert not torch.equal(noise(x), a)  # a new step
    noise.eval()
    expected = x * torch.exp(noise.log_scale) + noise.shift  # the walk without the jump
    assert torch.allclose(noise(x), expected)
    assert torch.equal(noise(x), noise(x))
    with pytest.raises(ValueError, match=r"expected input \(N, 6\)"):
        noise(torch.randn(5, 7))
    with pytest.raises(ValueError, match="jump_scale"):
        DriftingNoise(3, jump_scale=0.5)


def test_input_moments_sees_the_training_input_and_changes_nothing():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), DriftingNoise(4), nn.Linear(4, 2))
    net.eval()
    x = torch.randn(64, 3) * 2 + 1
    before = {k: v.clone() for k, v in net.state_dict().items()}
    mean, sd = input_moments(net, net[3], x)
    # the last Linear sees BN output (batch statistics: mean 0, sd 1 per unit) after the
    # noise's current transform (all zero so far: exp(0) = 1, shift 0)
    assert torch.allclose(mean, torch.zeros(4), atol=1e-5)
    assert torch.allclose(sd, torch.ones(4), atol=0.02)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not net.training  # mode restored


def test_drift_known_values():
    m = [
        (torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0])),
        (torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0])),
        (torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0])),
    ]
    # moves: (1/1 + 1/2) / 2 = 0.75, then 0; mean 0.375 (eps 0)
    assert drift(m, eps=0.0) == pytest.approx(0.375)
    with pytest.raises(ValueError, match="at least two"):
        drift(m[:1])
