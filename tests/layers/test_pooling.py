"""Parity, gradients, state layout and bad inputs of the pooling layers."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

import scratch
from tests.parity import assert_parity, assert_same_state_layout

ATOL = RTOL = 1e-5
NAMES = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
]


def _distinct(shape, seed: int, dtype=torch.float32) -> torch.Tensor:
    """Values 0.1 apart in a random order: no ties, so the max (and its gradient) is unique."""
    g = torch.Generator().manual_seed(seed)
    n = 1
    for s in shape:
        n *= s
    return (
        ((torch.randperm(n, generator=g).to(torch.float64) - n / 2) / 10).reshape(shape).to(dtype)
    )


def _pair(name: str, *args, **kwargs) -> tuple[nn.Module, nn.Module]:
    return getattr(scratch, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)


def _torch_accepts(layer: nn.Module, x: torch.Tensor) -> bool:
    try:
        out = layer(x)
    except RuntimeError:
        return False
    out = out[0] if isinstance(out, tuple) else out
    # a (dilated) max window lying wholly in the padding gives -inf and a junk index
    return bool(torch.isfinite(out).all())


def _shape(batch, c, size):
    return (c, *size) if batch is None else (batch, c, *size)


BATCH = st.sampled_from([None, 1, 2, 3])  # None: unbatched input
SEED = st.integers(0, 2**16)


# ----------------------------------------------------------------------------- parity
@st.composite
def window_args(draw, dims: int, dilation: bool):
    """kernel_size, stride, padding (<= kernel // 2) and dilation, as ints or tuples."""
    k = draw(st.tuples(*[st.integers(1, 4)] * dims))
    s = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * dims)))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)
    d = draw(st.tuples(*[st.integers(1, 3)] * dims)) if dilation else None
    as_int = draw(st.booleans()) and dims == 1  # torch's 1-D layers take ints or 1-tuples

    def arg(t):
        return t[0] if as_int and t is not None else t

    return arg(k), arg(s), arg(p), arg(d)


@given(
    dims=st.sampled_from([1, 2]),
    data=st.data(),
    batch=BATCH,
    c=st.integers(1, 3),
    ceil_mode=st.booleans(),
    return_indices=st.booleans(),
    train=st.booleans(),
    seed=SEED,
)
def test_maxpool_parity(dims, data, batch, c, ceil_mode, return_indices, train, seed):
    k, s, p, d = data.draw(window_args(dims, dilation=True))
    size = data.draw(st.tuples(*[st.integers(1, 9)] * dims))
    kw = dict(stride=s, padding=p, dilation=d, return_indices=return_indices, ceil_mode=ceil_mode)
    ours, theirs = _pair(f"MaxPool{dims}d", k, **kw)
    x = _distinct(_shape(batch, c, size), seed)
    assume(_torch_accepts(theirs, x))
    assert_parity(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL, seed=seed)


@given(
    dims=st.sampled_from([1, 2]),
    data=st.data(),
    batch=BATCH,
    c=st.integers(1, 3),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    divisor_override=st.sampled_from([None, None, 1, 3, 7]),
    train=st.booleans(),
    seed=SEED,
)
def test_avgpool_parity(
    dims, data, batch, c, ceil_mode, count_include_pad, divisor_override, train, seed
):
    k, s, p, _ = data.draw(window_args(dims, dilation=False))
    size = data.draw(st.tuples(*[st.integers(1, 9)] * dims))
    kw = dict(stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    if dims == 2:
        kw["divisor_override"] = divisor_override
    ours, theirs = _pair(f"AvgPool{dims}d", k, **kw)
    x = _distinct(_shape(batch, c, size), seed)
    assume(_torch_accepts(theirs, x))
    assert_parity(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL, seed=seed)


OUTPUT_SIZE = st.one_of(
    st.integers(1, 7),
    st.tuples(st.one_of(st.none(), st.integers(1, 7)), st.one_of(st.none(), st.integers(1, 7))),
)


@given(
    output_size=OUTPUT_SIZE,
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    batch=BATCH,
    c=st.integers(1, 3),
    train=st.booleans(),
    seed=SEED,
)
def test_adaptive_avgpool_parity(output_size, size, batch, c, train, seed):
    ours, theirs = _pair("AdaptiveAvgPool2d", output_size)
    x = _distinct(_shape(batch, c, size), seed)
    assert_parity(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL, seed=seed)


@given(
    output_size=OUTPUT_SIZE,
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    batch=BATCH,
    c=st.integers(1, 3),
    return_indices=st.booleans(),
    train=st.booleans(),
    seed=SEED,
)
def test_adaptive_maxpool_parity(output_size, size, batch, c, return_indices, train, seed):
    ours, theirs = _pair("AdaptiveMaxPool2d", output_size, return_indices=return_indices)
    x = _distinct(_shape(batch, c, size), seed)
    assert_parity(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL, seed=seed)


def test_maxpool_ties_go_to_the_first_maximum():
    """Equal values: torch (and we) pick the first in row-major order; gradient goes there."""
    x = torch.tensor([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0], [2.0, 3.0, 1.0]]]])
    for name, args in [("MaxPool2d", (2, 1)), ("AdaptiveMaxPool2d", ((2, 2),))]:
        ours, theirs = _pair(name, *args, return_indices=True)
        assert_parity(ours, theirs, x)
        assert torch.equal(ours(x)[1], theirs(x)[1])


def test_avgpool_by_hand():
    """2x2 windows, stride 1, padding 1, not counting the padding: corner mean is x[0, 0]."""
    x = torch.arange(4.0).reshape(1, 1, 2, 2)
    y = scratch.AvgPool2d(2, stride=1, padding=1, count_include_pad=False)(x)
    expected = torch.tensor([[[[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]]]])
    torch.testing.assert_close(y, expected)


# ------------------------------------------------------------------ gradcheck (float64)
GRADCHECK_CASES = [
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 2, 7, 6)),
    ("MaxPool2d", ((2, 3),), dict(stride=1, dilation=(2, 1)), (1, 2, 6, 5)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1, dilation=2, ceil_mode=True), (2, 3, 9)),
    (
        "AvgPool2d",
        (3,),
        dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        (2, 2, 6, 7),
    ),
    ("AvgPool2d", ((2, 3),), dict(padding=(1, 0), divisor_override=4), (1, 2, 5, 7)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 8)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 2, 7, 5)),
    ("AdaptiveMaxPool2d", ((4, 3),), {}, (2, 2, 7, 5)),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), GRADCHECK_CASES)
def test_gradcheck(name, args, kwargs, shape):
    layer = getattr(scratch, name)(*args, **kwargs)
    x = _distinct(shape, 0, torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(layer, (x,))


# ----------------------------------------------------------- state, repr, signature
REPR_CASES = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1, dilation=2, return_indices=True)),
    ("MaxPool2d", ((2, 3),), dict(ceil_mode=True)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1)),
    ("AvgPool2d", (3,), dict(padding=(1, 0), divisor_override=2)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
    ("AdaptiveMaxPool2d", (4,), dict(return_indices=True)),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), REPR_CASES)
def test_state_repr_and_attributes_match_torch(name, args, kwargs):
    ours, theirs = _pair(name, *args, **kwargs)
    assert_same_state_layout(ours, theirs)  # empty, both ways
    assert repr(ours) == repr(theirs)
    for attr, value in vars(theirs).items():
        if not attr.startswith("_") and attr != "training":
            assert getattr(ours, attr) == value, attr


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(scratch, name)).parameters
    theirs = inspect.signature(getattr(nn, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


# ------------------------------------------------------------------------- bad inputs
BAD = [
    (
        "MaxPool2d",
        (2,),
        {},
        (4, 4),
        ValueError,
        "expected input of shape (N, C, H, W) or (C, H, W)",
    ),
    ("MaxPool2d", (3,), dict(padding=2), (1, 1, 5, 5), ValueError, "padding=2 for kernel_size=3"),
    ("MaxPool2d", (3,), {}, (1, 1, 2, 5), ValueError, "output size 0 is too small"),
    ("MaxPool2d", (2,), dict(stride=0), (1, 1, 4, 4), ValueError, "must be positive"),
    (
        "MaxPool1d",
        (2,),
        {},
        (1, 1, 2, 4),
        ValueError,
        "expected input of shape (N, C, L) or (C, L)",
    ),
    ("MaxPool1d", (2,), dict(padding=2), (1, 1, 4), ValueError, "half the kernel size"),
    ("MaxPool1d", (5,), {}, (1, 4), ValueError, "too small"),
    ("AvgPool2d", (2,), {}, (1, 1, 1, 4, 4), ValueError, "got a 5-D tensor"),
    (
        "AvgPool2d",
        (2,),
        dict(padding=(0, 2)),
        (1, 1, 5, 5),
        ValueError,
        "padding=2 for kernel_size=2",
    ),
    ("AvgPool2d", (4,), {}, (1, 5, 3), ValueError, "output size 0 is too small"),
    ("AvgPool2d", (2,), dict(divisor_override=0), (1, 1, 4, 4), ValueError, "divisor_override"),
    ("AvgPool1d", (2,), {}, (4,), ValueError, "expected input of shape (N, C, L)"),
    ("AvgPool1d", (3,), dict(padding=2), (1, 1, 4), ValueError, "half the kernel size"),
    ("AvgPool1d", (3,), {}, (1, 1, 2), ValueError, "too small"),
    ("AdaptiveAvgPool2d", (2,), {}, (4, 4), ValueError, "got a 2-D tensor"),
    ("AdaptiveAvgPool2d", ((2, -1),), {}, (1, 4, 4), ValueError, "non-negative"),
    ("AdaptiveAvgPool2d", ((2, 2, 2),), {}, (1, 4, 4), ValueError, "an int or 2 ints"),
    ("AdaptiveAvgPool2d", (2,), {}, (1, 0, 4), ValueError, "non-zero height and width"),
    ("AdaptiveMaxPool2d", (2,), {}, (1, 1, 1, 4, 4), ValueError, "got a 5-D tensor"),
    ("AdaptiveMaxPool2d", ((-1, 2),), {}, (1, 4, 4), ValueError, "non-negative"),
    ("AdaptiveMaxPool2d", (2,), {}, (2, 3, 4, 0), ValueError, "non-zero height and width"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape", "error", "fragment"), BAD)
def test_bad_inputs(name, args, kwargs, shape, error, fragment):
    with pytest.raises(error) as info:
        getattr(scratch, name)(*args, **kwargs)(torch.randn(shape))
    assert fragment in str(info.value)
    assert name in str(info.value)
    with pytest.raises((RuntimeError, ValueError, IndexError)):  # torch rejects it too
        getattr(nn, name)(*args, **kwargs)(torch.randn(shape))


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_types(name):
    layer = getattr(scratch, name)(2)
    shape = (1, 2, 4) if name.endswith("1d") else (1, 2, 4, 4)
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(shape, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer([[1.0, 2.0]])
