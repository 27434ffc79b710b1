"""Dropout: statistics of the mask, exact 1/(1-p) scaling, eval identity, gradients, bad p.

The mask pattern cannot match torch's for a seed (torch draws it with ``bernoulli_``), so
train-mode parity is checked through everything but the pattern: full parity where no
randomness is involved (eval, p = 0, p = 1), the statistics of the mask, and the exact
scaling of the survivors, ours and torch's.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from scratch.dropout import dropout, dropout_mask
from tests.parity import assert_parity, assert_same_state_layout

PS = [0.1, 0.25, 0.5, 0.9]


def test_same_signature_repr_and_state():
    ours, theirs = inspect.signature(scratch.Dropout), inspect.signature(nn.Dropout)
    assert list(ours.parameters) == list(theirs.parameters)
    for p in ours.parameters:
        assert ours.parameters[p].default == theirs.parameters[p].default
    for args in [(), (0.3,), (0, True), (1.0,)]:
        assert repr(scratch.Dropout(*args)) == repr(nn.Dropout(*args))
    assert_same_state_layout(scratch.Dropout(), nn.Dropout())
    assert_same_state_layout(nn.Dropout(), scratch.Dropout())


@pytest.mark.parametrize("p", PS)
def test_kept_fraction_within_binomial_band(p):
    torch.manual_seed(0)
    n = 200_000
    y = scratch.Dropout(p)(torch.ones(n))
    kept = (y != 0).sum().item()
    mean, sd = n * (1 - p), math.sqrt(n * p * (1 - p))
    assert abs(kept - mean) < 5 * sd, (kept, mean, sd)  # 5 sigma: fails ~1 in 2 million


@pytest.mark.parametrize("p", PS)
def test_survivors_scaled_by_exactly_one_over_one_minus_p(p):
    torch.manual_seed(1)
    x = torch.randn(10_000)
    y = scratch.Dropout(p)(x)
    kept = y != 0
    assert kept.any() and (~kept).any()
    assert torch.equal(y[kept], x[kept] * (1.0 / (1.0 - p)))  # bit for bit, as torch scales
    # torch's own survivors obey the same rule
    yt = nn.Dropout(p)(x)
    kt = yt != 0
    assert torch.equal(yt[kt], x[kt] * (1.0 / (1.0 - p)))


@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    p=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_eval_parity_is_identity(shape, p, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    assert_parity(scratch.Dropout(p), nn.Dropout(p), x, train=False)
    m = scratch.Dropout(p).eval()
    assert m(x) is x  # torch returns the input itself


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_train_edge_cases_match_torch(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    # p = 0 is the identity, p = 1 zeroes everything: no randomness, so full parity
    assert_parity(scratch.Dropout(0.0), nn.Dropout(0.0), x, train=True)
    assert_parity(scratch.Dropout(1.0), nn.Dropout(1.0), x, train=True)
    assert scratch.Dropout(0.0)(x) is x


@pytest.mark.parametrize("p", PS)
def test_gradient_flows_only_through_kept_units(p):
    torch.manual_seed(2)
    x = torch.randn(500, dtype=torch.float64, requires_grad=True)
    y = scratch.Dropout(p)(x)
    up = torch.randn(500, dtype=torch.float64)
    (y * up).sum().backward()
    kept = y.detach() != 0
    torch.testing.assert_close(x.grad[kept], up[kept] / (1 - p))
    assert torch.equal(x.grad[~kept], torch.zeros_like(x.grad[~kept]))


def test_mean_is_preserved():
    torch.manual_seed(3)
    y = scratch.Dropout(0.3)(torch.full((400_000,), 2.0))
    assert abs(y.mean().item() - 2.0) < 0.01


def test_gradcheck_with_a_fixed_mask():
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    for p in (0.0, 0.4, 1.0):
        mask = dropout_mask(
            x.shape, p, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        assert torch.autograd.gradcheck(lambda t, mask=mask: t * mask, (x,))

    # with the global seed reset before each call the functional form is deterministic
    def f(t):
        torch.manual_seed(0)
        return dropout(t, 0.4)

    assert torch.autograd.gradcheck(f, (x,))


def test_mask_values_and_p_one():
    m = dropout_mask((1000,), 0.2, generator=torch.Generator().manual_seed(0))
    assert set(m.unique().tolist()) == {0.0, 1.25}
    assert torch.equal(dropout_mask((10,), 1.0), torch.zeros(10))  # not 0 * inf = NaN


def test_inplace_writes_into_input():
    torch.manual_seed(0)
    x = torch.ones(100)
    y = scratch.Dropout(0.5, inplace=True)(x)
    assert y is x and set(x.unique().tolist()) == {0.0, 2.0}


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\], got 1.5"):
        scratch.Dropout(1.5)
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\], got -0.1"):
        scratch.Dropout(-0.1)
    with pytest.raises(TypeError, match="Dropout: expected p to be a number, got str"):
        scratch.Dropout("0.5")
    with pytest.raises(TypeError, match="Dropout: expected input to be a torch.Tensor, got list"):
        scratch.Dropout()([1.0])
    with pytest.raises(
        TypeError, match="Dropout: expected input to be a floating-point tensor, got torch.int64"
    ):
        scratch.Dropout()(torch.ones(3, dtype=torch.long))
