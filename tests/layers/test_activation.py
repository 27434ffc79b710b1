"""Activations: parity with torch, float64 gradchecks (extreme inputs too), bad inputs."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from scratch.activation import gelu, log_softmax, relu, sigmoid, softmax, tanh
from tests.parity import assert_parity, assert_same_state_layout

CLASSES = ["ReLU", "GELU", "Sigmoid", "Tanh", "Softmax"]
SHAPE = st.lists(st.integers(1, 5), min_size=1, max_size=4)
EXTREME = torch.tensor([-1000.0, -100.0, -30.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 30.0, 100.0, 1000.0])


def _x(shape, seed, scale=3.0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


@pytest.mark.parametrize("name", CLASSES)
def test_same_signature_and_repr(name):
    ours, theirs = getattr(scratch, name), getattr(nn, name)
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)
    for kw in [
        {},
        *([{"inplace": True}] if name == "ReLU" else []),
        *([{"approximate": "tanh"}] if name == "GELU" else []),
        *([{"dim": -1}] if name == "Softmax" else []),
    ]:
        assert repr(ours(**kw)) == repr(theirs(**kw))
        assert_same_state_layout(ours(**kw), theirs(**kw))


# ----------------------------------------------------------------------------- parity
@given(
    shape=SHAPE,
    train=st.booleans(),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([0.1, 3.0, 50.0]),
)
def test_elementwise_parity(shape, train, seed, scale):
    x = _x(shape, seed, scale)
    for ours, theirs in [
        (scratch.ReLU(), nn.ReLU()),
        (scratch.GELU(), nn.GELU()),
        (scratch.GELU("tanh"), nn.GELU("tanh")),
        (scratch.Sigmoid(), nn.Sigmoid()),
        (scratch.Tanh(), nn.Tanh()),
    ]:
        # atol 1e-5: near saturation torch's y(1 - y) gradient loses float32 digits; ours does not
        assert_parity(ours, theirs, x, train=train, atol=1e-5, rtol=1e-5)


@given(
    shape=SHAPE, data=st.data(), seed=st.integers(0, 2**16), scale=st.sampled_from([0.1, 3.0, 50.0])
)
def test_softmax_parity(shape, data, seed, scale):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _x(shape, seed, scale)
    assert_parity(scratch.Softmax(dim), nn.Softmax(dim), x, atol=1e-6, rtol=1e-5)
    xo, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
    yo, yt = log_softmax(xo, dim), F.log_softmax(xt, dim)
    torch.testing.assert_close(yo, yt, atol=1e-5, rtol=1e-5)
    up = torch.randn_like(yo)
    (yo * up).sum().backward()
    (yt * up).sum().backward()
    torch.testing.assert_close(xo.grad, xt.grad, atol=1e-5, rtol=1e-5)


def test_softmax_implicit_dim_matches_torch_and_warns():
    for shape in [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        x = _x(shape, 0)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ours = scratch.Softmax()(x)
            theirs = nn.Softmax()(x)
        assert len(w) == 2 and "Implicit dimension" in str(w[0].message)
        torch.testing.assert_close(ours, theirs)


def test_extreme_inputs_match_torch_without_nan():
    x = EXTREME.double()
    for ours, theirs in [
        (sigmoid, torch.sigmoid),
        (tanh, torch.tanh),
        (gelu, F.gelu),
        (lambda t: gelu(t, "tanh"), lambda t: F.gelu(t, approximate="tanh")),
        (relu, torch.relu),
    ]:
        xo, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
        yo, yt = ours(xo), theirs(xt)
        yo.sum().backward()
        yt.sum().backward()
        assert torch.isfinite(yo).all() and torch.isfinite(xo.grad).all()
        torch.testing.assert_close(yo, yt, atol=1e-15, rtol=1e-12)
        torch.testing.assert_close(xo.grad, xt.grad, atol=1e-15, rtol=1e-12)


def test_derivatives_at_zero():
    # -|x| through abs() would give 0 here; the where() form gives the true slopes
    for f, slope in [(sigmoid, 0.25), (tanh, 1.0), (relu, 0.0), (gelu, 0.5)]:
        x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        f(x).backward()
        assert x.grad.item() == pytest.approx(slope, abs=1e-15)


def test_tanh_is_accurate_near_zero():
    x = torch.tensor([1e-30, 1e-10, -1e-7, 3e-4])
    torch.testing.assert_close(tanh(x), torch.tanh(x), atol=0, rtol=2e-7)


def test_softmax_rows_with_minus_inf_and_huge_values():
    x = torch.tensor([[0.0, float("-inf"), 1.0], [1e4, 1e4 - 1, -1e4], [-1e30, 0.0, 1e30]])
    torch.testing.assert_close(softmax(x, -1), torch.softmax(x, -1))
    torch.testing.assert_close(log_softmax(x, -1), torch.log_softmax(x, -1))
    assert torch.isnan(softmax(torch.full((3,), float("-inf")), 0)).all()  # as torch


def test_inplace_relu_writes_into_input():
    x = torch.tensor([-1.0, 0.0, 2.0])
    y = scratch.ReLU(inplace=True)(x)
    assert y is x and torch.equal(x, torch.tensor([0.0, 0.0, 2.0]))
    # after a non-leaf op, in-place relu still back-propagates like torch's
    for m in (scratch.ReLU(inplace=True), nn.ReLU(inplace=True)):
        a = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        m(a * 2).sum().backward()
        assert torch.equal(a.grad, torch.tensor([0.0, 2.0, 2.0]))


def test_relu_keeps_integer_dtype_and_nan():
    assert torch.equal(relu(torch.tensor([-2, 3])), torch.tensor([0, 3]))
    assert torch.isnan(relu(torch.tensor([float("nan")]))).all()


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize(
    "fn",
    [
        relu,
        gelu,
        lambda t: gelu(t, "tanh"),
        sigmoid,
        tanh,
        lambda t: softmax(t, -1),
        lambda t: softmax(t, 0),
        lambda t: log_softmax(t, -1),
        lambda t: log_softmax(t, 1),
    ],
    ids=[
        "relu",
        "gelu",
        "gelu_tanh",
        "sigmoid",
        "tanh",
        "softmax-1",
        "softmax0",
        "log_softmax-1",
        "log_softmax1",
    ],
)
def test_gradcheck(fn):
    x = _x((3, 4), 1, dtype=torch.float64)
    x = x + 0.1 * torch.sign(x)  # keep relu's kink out of the finite-difference step
    assert torch.autograd.gradcheck(fn, (x.requires_grad_(),))
    assert torch.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize(
    "fn",
    [sigmoid, tanh, lambda t: softmax(t, 0), lambda t: log_softmax(t, 0)],
    ids=["sigmoid", "tanh", "softmax", "log_softmax"],
)
def test_gradcheck_extreme_inputs(fn):
    x = EXTREME.double().requires_grad_()
    assert torch.autograd.gradcheck(fn, (x,))


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs():
    with pytest.raises(TypeError, match="Sigmoid: expected input to be a torch.Tensor, got list"):
        scratch.Sigmoid()([1.0, 2.0])
    with pytest.raises(
        TypeError, match="Tanh: expected input to be a floating-point tensor, got torch.int64"
    ):
        scratch.Tanh()(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="GELU: expected input to be a floating-point"):
        scratch.GELU()(torch.tensor([1, 2]))
    with pytest.raises(
        ValueError, match="GELU: expected approximate to be 'none' or 'tanh', got 'fast'"
    ):
        scratch.GELU("fast")
    with pytest.raises(ValueError, match="gelu: expected approximate"):
        gelu(torch.ones(2), approximate="erf")
    with pytest.raises(TypeError, match="ReLU: expected input to be a torch.Tensor, got float"):
        scratch.ReLU()(1.0)
    with pytest.raises(
        ValueError, match=r"Softmax: expected dim in \[-2, 1\] for a 2-D input, got 2"
    ):
        scratch.Softmax(dim=2)(torch.ones(2, 3))
    with pytest.raises(TypeError, match="softmax: expected dim to be an int, got NoneType"):
        softmax(torch.ones(3), None)
    with pytest.raises(TypeError, match="Softmax: expected input to be a floating-point"):
        scratch.Softmax(0)(torch.arange(3))
    with pytest.raises(TypeError, match="log_softmax: expected input to be a torch.Tensor"):
        log_softmax("x", 0)
