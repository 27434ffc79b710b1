"""Parity, gradients, state layout, properties and bad inputs of the normalization layers."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

import scratch
from tests.parity import assert_parity, assert_same_state_layout

NAMES = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d"]
EPS = st.sampled_from([1e-5, 1e-3, 0.1])
MOMENTUM = st.sampled_from([0.1, 0.5, None])
ATOL = RTOL = 1e-4  # float32; small batch variances amplify rounding in the gradients


def _x(shape, seed: int, dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * 2 + 0.5).to(dtype)


def _randomize(m: nn.Module, seed: int) -> nn.Module:
    """Random affine parameters and running statistics, so parity is not tested at 1 and 0."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
        if getattr(m, "running_mean", None) is not None:
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.num_batches_tracked.fill_(3)
    return m


def _pair(name: str, *args, **kwargs) -> tuple[nn.Module, nn.Module]:
    return getattr(scratch, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)


# ----------------------------------------------------------------------------- parity
@given(
    n=st.integers(2, 5),
    c=st.integers(1, 4),
    length=st.sampled_from([None, 1, 3, 6]),
    eps=EPS,
    momentum=MOMENTUM,
    affine=st.booleans(),
    bias=st.booleans(),
    track=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batchnorm1d_parity(n, c, length, eps, momentum, affine, bias, track, train, seed):
    kw = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track, bias=bias)
    ours, theirs = _pair("BatchNorm1d", c, **kw)
    shape = (n, c) if length is None else (n, c, length)
    assert_parity(
        ours, _randomize(theirs, seed), _x(shape, seed), train=train, atol=ATOL, rtol=RTOL
    )


@given(
    n=st.integers(1, 4),
    c=st.integers(1, 4),
    h=st.integers(1, 4),
    w=st.integers(2, 4),
    eps=EPS,
    momentum=MOMENTUM,
    affine=st.booleans(),
    track=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batchnorm2d_parity(n, c, h, w, eps, momentum, affine, track, train, seed):
    kw = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    ours, theirs = _pair("BatchNorm2d", c, **kw)
    x = _x((n, c, h, w), seed)
    assert_parity(ours, _randomize(theirs, seed), x, train=train, atol=ATOL, rtol=RTOL)


@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    norm=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    as_int=st.booleans(),
    eps=EPS,
    affine=st.booleans(),
    bias=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_layernorm_parity(lead, norm, as_int, eps, affine, bias, train, seed):
    shape = norm[0] if as_int and len(norm) == 1 else tuple(norm)
    kw = dict(eps=eps, elementwise_affine=affine, bias=bias)
    ours, theirs = _pair("LayerNorm", shape, **kw)
    x = _x((*lead, *norm), seed)
    assert_parity(ours, _randomize(theirs, seed), x, train=train, atol=ATOL, rtol=RTOL)


@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 3),
    per_group=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    eps=EPS,
    affine=st.booleans(),
    bias=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_groupnorm_parity(n, groups, per_group, spatial, eps, affine, bias, train, seed):
    c = groups * per_group
    if per_group * torch.Size(spatial).numel() < 4:
        # With one to three values per group the variance can be tiny, and both float32
        # results are then rounding noise (one value normalizes to exactly 0 here and to
        # ~1e-4 in torch): parity would test the noise. Torch also rejects a single value
        # in total (tested below).
        spatial = [*spatial, 4]
    ours, theirs = _pair("GroupNorm", groups, c, eps=eps, affine=affine, bias=bias)
    x = _x((n, c, *spatial), seed)
    assert_parity(ours, _randomize(theirs, seed), x, train=train, atol=ATOL, rtol=RTOL)


@given(
    n=st.sampled_from([None, 1, 2, 3]),
    c=st.integers(1, 4),
    h=st.integers(1, 4),
    w=st.integers(2, 4),
    eps=EPS,
    momentum=MOMENTUM,
    affine=st.booleans(),
    track=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_instancenorm2d_parity(n, c, h, w, eps, momentum, affine, track, train, seed):
    kw = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    ours, theirs = _pair("InstanceNorm2d", c, **kw)
    shape = (c, h, w) if n is None else (n, c, h, w)  # None: unbatched (C, H, W)
    assert_parity(
        ours, _randomize(theirs, seed), _x(shape, seed), train=train, atol=ATOL, rtol=RTOL
    )


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d", "InstanceNorm2d"])
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
def test_running_stats_match_torch_after_several_steps_then_eval(name, momentum):
    ours, theirs = _pair(name, 3, momentum=momentum, track_running_stats=True)
    shape = {"BatchNorm1d": (5, 3, 4), "BatchNorm2d": (4, 3, 3, 2), "InstanceNorm2d": (2, 3, 3, 3)}[
        name
    ]
    ours.load_state_dict(theirs.state_dict())
    for step in range(5):
        x = _x(shape, step)
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6, msg=k)
    if name.startswith("Batch"):
        assert ours.num_batches_tracked.item() == 5
        assert ours.num_batches_tracked.dtype == torch.int64
    assert not torch.equal(ours.running_mean, torch.zeros(3)) or momentum is None
    ours.eval(), theirs.eval()
    x = _x(shape, 99)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    assert_parity(ours, theirs, x, train=False)


def test_batchnorm_eval_uses_running_stats_even_for_a_batch_of_one():
    ours, theirs = _pair("BatchNorm1d", 3)
    assert_parity(ours, _randomize(theirs, 0), _x((1, 3), 0), train=False)


def test_instancenorm_warns_like_torch_on_unused_num_features():
    ours, theirs = _pair("InstanceNorm2d", 3)
    x = _x((2, 5, 3, 3), 0)
    with pytest.warns(UserWarning, match="num_features"):
        y = ours(x)
    with pytest.warns(UserWarning):
        torch.testing.assert_close(y, theirs(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("BatchNorm2d", (3,), {}),
        ("BatchNorm2d", (3,), dict(affine=False)),
        ("LayerNorm", ((3, 4),), {}),
        ("GroupNorm", (3, 3), {}),
        ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True)),
    ],
)
def test_low_precision_input_with_float32_weights_like_torch(name, args, kwargs, dtype):
    """torch computes a float16/bfloat16 input in float32 and returns the input's dtype."""
    ours, theirs = _pair(name, *args, **kwargs)
    theirs = _randomize(theirs, 0)
    ours.load_state_dict(theirs.state_dict())
    x = _x((2, 3, 3, 4), 0, dtype)
    y = ours(x)
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), theirs(x).float(), atol=2e-2, rtol=2e-2)
    for k, v in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[k], v, msg=k)


# ----------------------------------------------------------------- construction, layout
CONFIGS = [
    ("BatchNorm1d", (4,), {}),
    ("BatchNorm1d", (4,), dict(affine=False, track_running_stats=False)),
    ("BatchNorm2d", (3,), dict(bias=False, momentum=None)),
    ("BatchNorm2d", (3,), dict(affine=False, eps=1e-3)),
    ("LayerNorm", (5,), {}),
    ("LayerNorm", ([2, 3],), dict(elementwise_affine=False)),
    ("LayerNorm", (torch.Size([4]),), dict(bias=False)),
    ("GroupNorm", (2, 6), {}),
    ("GroupNorm", (3, 6), dict(affine=False)),
    ("GroupNorm", (3, 6), dict(bias=False)),
    ("InstanceNorm2d", (3,), {}),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True)),
    ("InstanceNorm2d", (3,), dict(affine=True, bias=False, momentum=None)),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CONFIGS)
@pytest.mark.parametrize("dtype", [None, torch.float64])
def test_state_dict_both_ways_and_repr(name, args, kwargs, dtype):
    ours, theirs = _pair(name, *args, **kwargs, dtype=dtype)
    assert_same_state_layout(ours, theirs)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    for (n, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), n  # same initial values: ones, zeros, running 0 / 1 / 0
    assert repr(ours) == repr(theirs)
    # a trained torch layer's state loads into ours (and back)
    theirs = _randomize(theirs, 1)
    ours.load_state_dict(theirs.state_dict())
    theirs2 = getattr(nn, name)(*args, **kwargs, dtype=dtype)
    theirs2.load_state_dict(ours.state_dict())
    for a, b in zip(theirs.state_dict().values(), theirs2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_matches_torch(name):
    ours = inspect.signature(getattr(scratch, name).__init__).parameters
    theirs = inspect.signature(getattr(nn, name).__init__).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


def test_reset_running_stats_and_parameters():
    m = _randomize(scratch.BatchNorm2d(3), 0)
    m.reset_parameters()
    fresh = nn.BatchNorm2d(3)
    for a, b in zip(m.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------------ gradcheck
GRADCHECK = [
    ("BatchNorm1d", (3,), {}, (4, 3), True),
    ("BatchNorm1d", (3,), dict(momentum=None), (4, 3, 2), True),
    ("BatchNorm1d", (3,), {}, (4, 3, 2), False),
    ("BatchNorm2d", (2,), {}, (3, 2, 2, 3), True),
    ("BatchNorm2d", (2,), {}, (3, 2, 2, 3), False),
    ("BatchNorm2d", (2,), dict(track_running_stats=False), (3, 2, 2, 3), False),
    ("LayerNorm", ((2, 3),), {}, (2, 2, 3), True),
    ("GroupNorm", (2, 4), {}, (2, 4, 3), True),
    ("InstanceNorm2d", (2,), dict(affine=True), (2, 2, 3, 2), True),
    ("InstanceNorm2d", (2,), dict(affine=True, track_running_stats=True), (2, 2, 3), True),
    ("InstanceNorm2d", (2,), dict(affine=True, track_running_stats=True), (2, 2, 2, 3), False),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape", "train"), GRADCHECK)
def test_gradcheck_float64(name, args, kwargs, shape, train):
    m = _randomize(getattr(scratch, name)(*args, **kwargs, dtype=torch.float64), 0).train(train)
    x = _x(shape, 0, torch.float64).requires_grad_(True)
    w, b = (p.detach().clone().requires_grad_(True) for p in (m.weight, m.bias))

    def f(x, w, b):
        return functional_call(m, {"weight": w, "bias": b}, (x,))

    assert torch.autograd.gradcheck(f, (x, w, b))
    assert torch.autograd.gradgradcheck(f, (x, w, b))


# ----------------------------------------------------------------------- properties
@given(
    lead=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    d=st.integers(8, 32),
    seed=st.integers(0, 2**16),
)
def test_layernorm_output_has_zero_mean_unit_variance_per_sample(lead, d, seed):
    y = scratch.LayerNorm(d, elementwise_affine=False, eps=1e-6, dtype=torch.float64)(
        _x((*lead, d), seed, torch.float64)
    )
    torch.testing.assert_close(
        y.mean(-1), torch.zeros(lead, dtype=torch.float64), atol=1e-8, rtol=0
    )
    torch.testing.assert_close(
        y.var(-1, correction=0), torch.ones(lead, dtype=torch.float64), atol=1e-4, rtol=0
    )


@given(
    n=st.integers(2, 6),
    c=st.integers(1, 4),
    h=st.integers(1, 4),
    w=st.integers(2, 4),
    seed=st.integers(0, 2**16),
)
def test_batchnorm_training_output_has_zero_mean_unit_variance_per_channel(n, c, h, w, seed):
    y = scratch.BatchNorm2d(c, eps=1e-8, dtype=torch.float64).train()(
        _x((n, c, h, w), seed, torch.float64)
    )
    ones = torch.ones(c, dtype=torch.float64)
    torch.testing.assert_close(y.mean((0, 2, 3)), 0 * ones, atol=1e-8, rtol=0)
    torch.testing.assert_close(y.var((0, 2, 3), correction=0), ones, atol=1e-4, rtol=0)


def test_axes_of_each_layer():
    """The book's comparison: which slices come out with mean 0 and variance 1."""
    x = _x((4, 6, 3, 5), 0, torch.float64)
    axes = {
        "BatchNorm2d": (scratch.BatchNorm2d(6, eps=0, dtype=torch.float64), (0, 2, 3)),
        "LayerNorm": (scratch.LayerNorm([6, 3, 5], eps=0, dtype=torch.float64), (1, 2, 3)),
        "InstanceNorm2d": (scratch.InstanceNorm2d(6, eps=0), (2, 3)),
    }
    for name, (m, dims) in axes.items():
        y = m(x)
        torch.testing.assert_close(
            y.mean(dims), torch.zeros_like(y.mean(dims)), atol=1e-10, rtol=0, msg=name
        )
        torch.testing.assert_close(
            y.var(dims, correction=0), torch.ones_like(y.mean(dims)), msg=name
        )
    y = scratch.GroupNorm(2, 6, eps=0, affine=False)(x).reshape(4, 2, 3, 3, 5)  # (N, G, C/G, H, W)
    torch.testing.assert_close(
        y.var((2, 3, 4), correction=0), torch.ones(4, 2, dtype=torch.float64)
    )
    # GroupNorm with G = 1 is LayerNorm over (C, H, W); with G = C it is InstanceNorm
    ln, inorm = scratch.LayerNorm([6, 3, 5], elementwise_affine=False), scratch.InstanceNorm2d(6)
    torch.testing.assert_close(scratch.GroupNorm(1, 6, affine=False)(x), ln(x))
    torch.testing.assert_close(scratch.GroupNorm(6, 6, affine=False)(x), inorm(x))


# ----------------------------------------------------------------------- bad inputs
BAD = [
    # (layer, ctor args, ctor kwargs, input shape, dtype, train, error, message piece)
    ("BatchNorm1d", (3,), {}, (4, 3, 2, 2), torch.float32, True, ValueError, "(N, C) or (N, C, L)"),
    ("BatchNorm1d", (3,), {}, (4, 5), torch.float32, True, ValueError, "num_features = 3"),
    (
        "BatchNorm1d",
        (3,),
        {},
        (1, 3),
        torch.float32,
        True,
        ValueError,
        "more than 1 value per channel",
    ),
    (
        "BatchNorm1d",
        (3,),
        dict(track_running_stats=False),
        (1, 3),
        torch.float32,
        False,
        ValueError,
        "got input size (1, 3)",
    ),
    ("BatchNorm1d", (3,), {}, (4, 3), torch.int64, True, TypeError, "floating-point"),
    ("BatchNorm2d", (3,), {}, (3, 4, 4), torch.float32, True, ValueError, "(N, C, H, W)"),
    ("BatchNorm2d", (3,), {}, (2, 4, 4, 4), torch.float32, False, ValueError, "got 4"),
    (
        "BatchNorm2d",
        (3,),
        {},
        (1, 3, 1, 1),
        torch.float32,
        True,
        ValueError,
        "more than 1 value per channel",
    ),
    (
        "BatchNorm2d",
        (3,),
        {},
        (2, 3, 2, 2),
        torch.float64,
        True,
        TypeError,
        "does not match weight dtype",
    ),
    ("LayerNorm", (4,), {}, (3, 5), torch.float32, True, ValueError, "got shape (3, 5)"),
    ("LayerNorm", ((2, 4),), {}, (4,), torch.float32, True, ValueError, "normalized_shape (2, 4)"),
    ("LayerNorm", ((2, 4),), {}, (3, 4, 2), torch.float32, False, ValueError, "(*, 2, 4)"),
    ("LayerNorm", (4,), {}, (3, 4), torch.int32, True, TypeError, "LayerNorm: expected input"),
    ("GroupNorm", (2, 4), {}, (4,), torch.float32, True, ValueError, "(N, C, *)"),
    ("GroupNorm", (2, 4), {}, (2, 6, 3), torch.float32, True, ValueError, "got 6"),
    ("GroupNorm", (2, 4), {}, (2, 4), torch.bool, True, TypeError, "floating-point"),
    ("GroupNorm", (2, 2), {}, (1, 2), torch.float32, True, ValueError, "more than 1 value"),
    (
        "InstanceNorm2d",
        (3,),
        {},
        (3, 4),
        torch.float32,
        True,
        ValueError,
        "(N, C, H, W) or (C, H, W)",
    ),
    ("InstanceNorm2d", (3,), {}, (2, 3, 4, 4, 4), torch.float32, True, ValueError, "5-D"),
    (
        "InstanceNorm2d",
        (3,),
        dict(affine=True),
        (2, 4, 4, 4),
        torch.float32,
        True,
        ValueError,
        "num_features = 3",
    ),
    (
        "InstanceNorm2d",
        (3,),
        {},
        (2, 3, 1, 1),
        torch.float32,
        True,
        ValueError,
        "more than 1 spatial element",
    ),
    ("InstanceNorm2d", (3,), {}, (2, 3, 4, 4), torch.int64, True, TypeError, "got torch.int64"),
    (
        "InstanceNorm2d",
        (3,),
        dict(affine=True),
        (3, 4, 4),
        torch.float64,
        True,
        TypeError,
        "weight dtype",
    ),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape", "dtype", "train", "error", "piece"), BAD
)
def test_bad_input_raises_clear_error(name, args, kwargs, shape, dtype, train, error, piece):
    m = getattr(scratch, name)(*args, **kwargs).train(train)
    x = torch.ones(shape, dtype=dtype)
    with pytest.raises(error, match=name) as info:
        m(x)
    assert piece in str(info.value)


@pytest.mark.parametrize("groups", [4, 0, 5])
def test_groupnorm_rejects_channels_not_divisible_by_groups(groups):
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible"):
        scratch.GroupNorm(groups, 6)


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match="LayerNorm: expected input to be a torch.Tensor, got list"):
        scratch.LayerNorm(3)([1.0, 2.0, 3.0])
