"""Linear and Flatten: initialization, parity, gradcheck, state layout, bad inputs."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from tests.parity import assert_parity, assert_same_state_layout


def _x(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("name", ["Linear", "Flatten"])
def test_same_signature(name):
    ours, theirs = inspect.signature(getattr(scratch, name)), inspect.signature(getattr(nn, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for p in ours.parameters:
        assert ours.parameters[p].default == theirs.parameters[p].default, p


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
@pytest.mark.parametrize("seed", [0, 1, 123])
@pytest.mark.parametrize("shape", [(5, 3), (1, 1), (64, 10), (3, 0)])
@pytest.mark.parametrize("bias", [True, False])
def test_init_bitwise_equal_to_torch(seed, shape, bias):
    torch.manual_seed(seed)
    ours = scratch.Linear(*shape, bias=bias)
    after_ours = torch.rand(2)
    torch.manual_seed(seed)
    theirs = nn.Linear(*shape, bias=bias)
    after_theirs = torch.rand(2)
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2), n1
    assert torch.equal(after_ours, after_theirs)  # the RNG stream is left in the same place


def test_repr_dtype_device_and_reset():
    for bias in (True, False):
        assert repr(scratch.Linear(4, 2, bias=bias)) == repr(nn.Linear(4, 2, bias=bias))
    assert repr(scratch.Flatten(0, 2)) == repr(nn.Flatten(0, 2))
    m = scratch.Linear(3, 2, dtype=torch.float64, device="cpu")
    assert m.weight.dtype == m.bias.dtype == torch.float64 and m.weight.device.type == "cpu"
    assert scratch.Linear(3, 2, bias=False).bias is None
    torch.manual_seed(5)
    m.reset_parameters()
    torch.manual_seed(5)
    t = nn.Linear(3, 2, dtype=torch.float64)
    torch.manual_seed(5)
    t.reset_parameters()
    assert torch.equal(m.weight, t.weight) and torch.equal(m.bias, t.bias)


@given(
    batch=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    fin=st.integers(1, 8),
    fout=st.integers(1, 8),
    bias=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_parity(batch, fin, fout, bias, train, seed):
    torch.manual_seed(seed)
    ours, theirs = scratch.Linear(fin, fout, bias=bias), nn.Linear(fin, fout, bias=bias)
    assert_parity(ours, theirs, _x((*batch, fin), seed), train=train)


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_flatten_parity(shape, data, seed):
    n = len(shape)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(-n, n - 1).filter(lambda e: (e % n) >= (start % n)))
    x = _x(shape, seed)
    assert_parity(scratch.Flatten(start, end), nn.Flatten(start, end), x)
    y = scratch.Flatten(start, end)(x)
    assert y.shape == x.flatten(start, end).shape
    assert y.data_ptr() == x.data_ptr()  # a view, as torch's


def test_flatten_non_contiguous_and_zero_size():
    x = _x((2, 3, 4), 0).transpose(0, 2)
    torch.testing.assert_close(scratch.Flatten()(x), nn.Flatten()(x))
    z = torch.empty(0, 3, 4)
    assert scratch.Flatten()(z).shape == nn.Flatten()(z).shape == (0, 12)
    assert scratch.Flatten(0)(torch.tensor(2.0)).shape == (1,)


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_both_ways(bias):
    assert_same_state_layout(scratch.Linear(4, 3, bias=bias), nn.Linear(4, 3, bias=bias))
    assert_same_state_layout(nn.Linear(4, 3, bias=bias), scratch.Linear(4, 3, bias=bias))
    assert_same_state_layout(scratch.Flatten(), nn.Flatten())


def test_gradcheck():
    m = scratch.Linear(4, 3, dtype=torch.float64)
    x = _x((2, 5, 4), 0, torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, w, b: torch.func.functional_call(m, {"weight": w, "bias": b}, (x,)),
        (x, m.weight.detach().clone().requires_grad_(), m.bias.detach().clone().requires_grad_()),
    )
    assert torch.autograd.gradcheck(scratch.Flatten(0, 1), (x,))


def test_broken_linear_is_caught():
    """A dropped bias must fail the parity check (the test can see a wrong layer)."""
    ours, theirs = scratch.Linear(4, 3), nn.Linear(4, 3)
    ours.forward = lambda x: x @ ours.weight.T  # noqa: B023
    with pytest.raises(AssertionError):
        assert_parity(ours, theirs, _x((2, 4), 0))


def test_bad_inputs():
    m = scratch.Linear(4, 3)
    with pytest.raises(
        ValueError, match=r"Linear: expected input.shape\[-1\] \(in_features\) = 4, got 5"
    ):
        m(torch.ones(2, 5))
    with pytest.raises(
        TypeError, match="Linear: expected input to be a floating-point tensor, got torch.int64"
    ):
        m(torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(
        ValueError, match=r"Linear: expected input of shape \(\*, 4\) \(at least 1-D\), got a 0-D"
    ):
        m(torch.tensor(1.0))
    with pytest.raises(
        TypeError,
        match="Linear: input dtype torch.float64 does not match weight dtype torch.float32",
    ):
        m(torch.ones(2, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="Linear: expected input to be a torch.Tensor, got list"):
        m([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"Flatten: expected start_dim and end_dim in \[-2, 1\]"):
        scratch.Flatten(1, 3)(torch.ones(2, 3))
    with pytest.raises(ValueError, match="Flatten: expected start_dim <= end_dim"):
        scratch.Flatten(2, 1)(torch.ones(2, 3, 4))
    with pytest.raises(TypeError, match="Flatten: expected input to be a torch.Tensor"):
        scratch.Flatten()(None)
