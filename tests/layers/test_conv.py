"""Parity, gradients, initialization, state layout, equivariance and bad inputs of Conv1d/Conv2d."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

import scratch
from tests.parity import assert_parity, assert_same_state_layout

ATOL, RTOL = 1e-5, 1e-4  # float32; a weight gradient sums over every output position
MODES = ["zeros", "reflect", "replicate", "circular"]


def _x(shape, seed: int, dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)


def _pair(name: str, *args, seed: int = 0, **kwargs) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    ours = getattr(scratch, name)(*args, **kwargs)
    torch.manual_seed(seed)
    theirs = getattr(nn, name)(*args, **kwargs)
    return ours, theirs


def _side_pads(padding, kernel, dilation) -> list[tuple[int, int]]:
    """(before, after) padding per spatial dim, as the layer applies it."""
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        return [
            (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)
        ]
    return [(p, p) for p in padding]


@st.composite
def conv_configs(draw, dims: int):
    """A Conv{dims}d configuration torch accepts, with an input it accepts."""
    tup = st.tuples(*[st.integers(1, 4)] * dims)
    groups = draw(st.sampled_from([1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = draw(tup)
    dilation = draw(st.tuples(*[st.integers(1, 3)] * dims))
    padding = draw(
        st.one_of(
            st.sampled_from(["same", "valid"]),
            st.tuples(*[st.integers(0, 3)] * dims),
        )
    )
    stride = (1,) * dims if padding == "same" else draw(st.tuples(*[st.integers(1, 3)] * dims))
    mode = draw(st.sampled_from(MODES))
    size = draw(st.tuples(*[st.integers(1, 9)] * dims))
    pads = _side_pads(padding, kernel, dilation)
    for n, (a, b), k, d in zip(size, pads, kernel, dilation):
        assume(n + a + b >= d * (k - 1) + 1)  # the dilated kernel fits the padded input
        if mode == "reflect":
            assume(max(a, b) < n)  # F.pad: reflect padding must be smaller than the input
        if mode == "circular":
            assume(max(a, b) <= n)  # F.pad: circular padding wraps around at most once
    # an int when all dims agree (exercises both spellings of the arguments)
    squash = draw(st.booleans())

    def arg(t):
        return t[0] if squash and isinstance(t, tuple) and len(set(t)) == 1 else t

    kwargs = dict(
        kernel_size=arg(kernel),
        stride=arg(stride),
        padding=arg(padding),
        dilation=arg(dilation),
        groups=groups,
        bias=draw(st.booleans()),
        padding_mode=mode,
    )
    batch = draw(st.sampled_from([None, 1, 2, 3]))  # None: unbatched input
    shape = (c_in, *size) if batch is None else (batch, c_in, *size)
    return c_in, c_out, kwargs, shape


# ----------------------------------------------------------------------------- parity
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(cfg=conv_configs(2), train=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_parity(cfg, train, seed):
    c_in, c_out, kwargs, shape = cfg
    ours, theirs = _pair("Conv2d", c_in, c_out, seed=seed, **kwargs)
    assert_parity(ours, theirs, _x(shape, seed), train=train, atol=ATOL, rtol=RTOL, seed=seed)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(cfg=conv_configs(1), train=st.booleans(), seed=st.integers(0, 2**16))
def test_conv1d_parity(cfg, train, seed):
    c_in, c_out, kwargs, shape = cfg
    ours, theirs = _pair("Conv1d", c_in, c_out, seed=seed, **kwargs)
    assert_parity(ours, theirs, _x(shape, seed), train=train, atol=ATOL, rtol=RTOL, seed=seed)


NAMED_CASES = [
    (
        "Conv2d",
        (4, 6, (2, 4)),
        dict(padding="same", dilation=(3, 1), groups=2, padding_mode="reflect"),
        (2, 4, 7, 9),
    ),
    ("Conv2d", (3, 6, 3), dict(stride=2, padding=1, bias=False), (2, 3, 8, 8)),
    ("Conv2d", (2, 2, 3), dict(padding=(1, 2), padding_mode="replicate", groups=2), (2, 5, 4)),
    ("Conv2d", (3, 3, 3), dict(padding=3, padding_mode="circular", groups=3), (1, 3, 3, 4)),
    ("Conv1d", (2, 4, 4), dict(padding="same", padding_mode="circular"), (3, 2, 6)),
    ("Conv1d", (4, 2, 3), dict(stride=3, padding=2, dilation=2, groups=2), (4, 10)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), NAMED_CASES)
@pytest.mark.parametrize("train", [True, False])
def test_parity_named_cases(name, args, kwargs, shape, train):
    """Configurations worth pinning whatever hypothesis draws: asymmetric 'same', every mode."""
    ours, theirs = _pair(name, *args, **kwargs)
    assert_parity(ours, theirs, _x(shape, 0), train=train, atol=ATOL, rtol=RTOL)


# --------------------------------------------------------------------- initialization
@given(
    name=st.sampled_from(["Conv1d", "Conv2d"]),
    groups=st.sampled_from([1, 2, 4]),
    k=st.integers(1, 5),
    bias=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**31),
)
def test_init_is_bit_identical_to_torch(name, groups, k, bias, dtype, seed):
    ours, theirs = _pair(name, 4, 8, k, groups=groups, bias=bias, dtype=dtype, seed=seed)
    assert torch.equal(ours.weight, theirs.weight)
    assert (ours.bias is None) == (theirs.bias is None)
    if bias:
        assert torch.equal(ours.bias, theirs.bias)
    assert ours.weight.dtype == dtype
    # both consumed the RNG alike: the next draw agrees too
    torch.manual_seed(seed)
    getattr(scratch, name)(4, 8, k, groups=groups, bias=bias, dtype=dtype)
    after_ours = torch.rand(3)
    torch.manual_seed(seed)
    getattr(nn, name)(4, 8, k, groups=groups, bias=bias, dtype=dtype)
    assert torch.equal(after_ours, torch.rand(3))


# ------------------------------------------------------------------ gradcheck (float64)
GRADCHECK_CASES = [
    ("Conv2d", dict(kernel_size=3, padding=1)),
    ("Conv2d", dict(kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2), groups=2)),
    ("Conv2d", dict(kernel_size=2, padding="same", padding_mode="reflect", bias=False)),
    ("Conv2d", dict(kernel_size=3, padding=(2, 1), padding_mode="circular", groups=2)),
    ("Conv2d", dict(kernel_size=3, padding=1, stride=2, padding_mode="replicate")),
    ("Conv1d", dict(kernel_size=3, padding=1)),
    ("Conv1d", dict(kernel_size=2, stride=2, dilation=2, groups=2, padding_mode="circular")),
    ("Conv1d", dict(kernel_size=4, padding="same", padding_mode="reflect")),
]


@pytest.mark.parametrize(("name", "kwargs"), GRADCHECK_CASES)
def test_gradcheck(name, kwargs):
    torch.manual_seed(0)
    layer = getattr(scratch, name)(2, 4, dtype=torch.float64, **kwargs)
    shape = (2, 2, 5, 6) if name == "Conv2d" else (2, 2, 7)
    x = _x(shape, 1, torch.float64).requires_grad_(True)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in layer.named_parameters()}
    names = list(params)

    def f(x, *ps):
        return functional_call(layer, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params.values()))


# ------------------------------------------------------------------------ equivariance
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    dilation=st.sampled_from([1, 2]),
    shift=st.tuples(st.integers(-7, 7), st.integers(-7, 7)),
    seed=st.integers(0, 2**16),
)
def test_conv2d_circular_is_translation_equivariant(k, dilation, shift, seed):
    """With circular 'same' padding, shifting the input (cyclically) shifts the output."""
    torch.manual_seed(seed)
    conv = scratch.Conv2d(2, 3, k, padding="same", dilation=dilation, padding_mode="circular")
    x = _x((2, 2, 7, 8), seed)
    with torch.no_grad():
        shifted_then_conv = conv(torch.roll(x, shift, dims=(2, 3)))
        conv_then_shifted = torch.roll(conv(x), shift, dims=(2, 3))
    torch.testing.assert_close(shifted_then_conv, conv_then_shifted, atol=1e-5, rtol=1e-5)


def test_conv2d_is_cross_correlation_by_hand():
    """A 1-channel 2x2 kernel on a 3x3 input, computed by hand: no kernel flip."""
    conv = scratch.Conv2d(1, 1, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    # y[0, 0] = 1*0 + 2*1 + 3*3 + 4*4 = 27, and so on
    expected = torch.tensor([[[[27.0, 37.0], [57.0, 67.0]]]])
    assert torch.equal(conv(x), expected)


# ----------------------------------------------------------- state, repr, signature
STATE_CASES = [
    ("Conv1d", (3, 6, 3), dict()),
    ("Conv1d", (4, 2, 2), dict(bias=False, groups=2, padding="same")),
    ("Conv2d", (3, 6, 3), dict(stride=2, padding=1)),
    ("Conv2d", (4, 4, (1, 3)), dict(bias=False, groups=4, dilation=2, padding_mode="reflect")),
    ("Conv2d", (2, 4, 3), dict(padding="valid")),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), STATE_CASES)
def test_state_dict_loads_both_ways(name, args, kwargs):
    ours, theirs = _pair(name, *args, seed=1, **kwargs)
    assert_same_state_layout(ours, theirs)
    torch.manual_seed(2)
    other = getattr(nn, name)(*args, **kwargs)
    ours.load_state_dict(other.state_dict())
    assert torch.equal(ours.weight, other.weight)


@pytest.mark.parametrize(("name", "args", "kwargs"), STATE_CASES)
def test_repr_and_attributes_match_torch(name, args, kwargs):
    ours, theirs = _pair(name, *args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attr in [
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
        "transposed",
        "output_padding",
    ]:
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert list(ours._reversed_padding_repeated_twice) == list(
        theirs._reversed_padding_repeated_twice
    )


@pytest.mark.parametrize("name", ["Conv1d", "Conv2d"])
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(scratch, name)).parameters
    theirs = inspect.signature(getattr(nn, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


# ------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("name", "kwargs", "shape", "error", "fragment"),
    [
        ("Conv2d", {}, (3, 8), ValueError, "expected input of shape (N, C_in, H, W)"),
        ("Conv2d", {}, (1, 1, 3, 8, 8), ValueError, "got a 5-D tensor"),
        ("Conv2d", {}, (1, 4, 8, 8), ValueError, "expected input channels = 3, got 4"),
        (
            "Conv2d",
            {},
            (1, 3, 2, 8),
            ValueError,
            "kernel size (3, 3) (dilated) is larger than the padded input size (2, 8)",
        ),
        ("Conv2d", {"dilation": 3}, (1, 3, 6, 8), ValueError, "kernel size (7, 7) (dilated)"),
        (
            "Conv2d",
            {"padding": 1, "dilation": 2},
            (1, 3, 1, 8),
            ValueError,
            "kernel size (5, 5) (dilated) is larger than the padded input size (3, 10)",
        ),
        ("Conv1d", {}, (3,), ValueError, "expected input of shape (N, C_in, L)"),
        ("Conv1d", {}, (2, 2, 8), ValueError, "expected input channels = 3, got 2"),
        ("Conv1d", {"padding": 1}, (2, 3, 0), ValueError, "larger than the padded input size (2,)"),
    ],
)
def test_bad_input_shapes(name, kwargs, shape, error, fragment):
    layer = getattr(scratch, name)(3, 2, 3, **kwargs)
    with pytest.raises(error) as info:
        layer(torch.randn(shape))
    assert fragment in str(info.value)
    assert name in str(info.value)


@pytest.mark.parametrize("name", ["Conv1d", "Conv2d"])
def test_bad_input_types(name):
    layer = getattr(scratch, name)(3, 2, 3)
    shape = (1, 3, 5) if name == "Conv1d" else (1, 3, 5, 5)
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(shape, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer([[1.0, 2.0]])
    with pytest.raises(TypeError, match="does not match weight dtype"):
        layer(torch.ones(shape, dtype=torch.float64))


@pytest.mark.parametrize("name", ["Conv1d", "Conv2d"])
@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((3, 4, 3), {"groups": 2}, "in_channels must be divisible by groups"),
        ((4, 3, 3), {"groups": 2}, "out_channels must be divisible by groups"),
        ((4, 4, 3), {"groups": 0}, "groups must be a positive integer"),
        ((3, 4, 3), {"padding": "same", "stride": 2}, "not supported for strided"),
        ((3, 4, 3), {"padding": "full"}, "invalid padding string"),
        ((3, 4, 3), {"padding_mode": "mirror"}, "padding_mode must be one of"),
        ((3, 4, (1, 2, 3)), {}, "kernel_size"),
    ],
)
def test_bad_construction(name, args, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        getattr(scratch, name)(*args, **kwargs)
    if fragment != "kernel_size":  # torch accepts any tuple and fails later
        with pytest.raises(ValueError):
            getattr(nn, name)(*args, **kwargs)
