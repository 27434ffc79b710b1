"""scratch.init draws bit-for-bit what torch.nn.init draws, with the variances it claims."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from torch import nn

from scratch import init

SHAPES = [(3, 5), (8, 4, 3), (6, 2, 3, 3), (1, 1), (16, 7, 5)]
NAMES = [
    "uniform_",
    "normal_",
    "constant_",
    "ones_",
    "zeros_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "calculate_gain",
    "_calculate_fan_in_and_fan_out",
]


@pytest.mark.parametrize("name", NAMES)
def test_same_signature_as_torch(name):
    ours, theirs = inspect.signature(getattr(init, name)), inspect.signature(getattr(nn.init, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for p in ours.parameters:
        assert ours.parameters[p].default == theirs.parameters[p].default, p


def _both(fn_name: str, shape, seed: int, use_generator: bool, **kw):
    out = []
    for lib in (init, nn.init):
        t = torch.empty(shape)
        if use_generator:
            getattr(lib, fn_name)(t, generator=torch.Generator().manual_seed(seed), **kw)
        else:
            torch.manual_seed(seed)
            getattr(lib, fn_name)(t, **kw)
        out.append(t)
    return out


CASES = [
    ("uniform_", {}),
    ("uniform_", dict(a=-2.0, b=3.0)),
    ("normal_", {}),
    ("normal_", dict(mean=1.5, std=0.2)),
    ("xavier_uniform_", {}),
    ("xavier_uniform_", dict(gain=5 / 3)),
    ("xavier_normal_", dict(gain=math.sqrt(2))),
    ("kaiming_uniform_", {}),
    ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(a=0.2, mode="fan_in", nonlinearity="leaky_relu")),
    ("kaiming_normal_", dict(nonlinearity="tanh")),
]


@pytest.mark.parametrize("use_generator", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fn_name,kw", CASES)
def test_bitwise_equal_to_torch(fn_name, kw, shape, use_generator):
    ours, theirs = _both(fn_name, shape, seed=7, use_generator=use_generator, **kw)
    assert torch.equal(ours, theirs)


def test_rng_stream_left_where_torch_leaves_it():
    torch.manual_seed(3)
    init.kaiming_uniform_(torch.empty(4, 5))
    after_ours = torch.rand(3)
    torch.manual_seed(3)
    nn.init.kaiming_uniform_(torch.empty(4, 5))
    assert torch.equal(after_ours, torch.rand(3))


@pytest.mark.parametrize("fn_name,val", [("zeros_", 0.0), ("ones_", 1.0)])
def test_fills(fn_name, val):
    t = getattr(init, fn_name)(torch.empty(3, 4))
    assert torch.equal(t, torch.full((3, 4), val))
    assert torch.equal(init.constant_(torch.empty(2, 2), 0.3), torch.full((2, 2), 0.3))


def test_in_place_on_parameter_without_grad_history():
    p = nn.Parameter(torch.empty(3, 4))
    out = init.xavier_uniform_(p)
    assert out is p and p.grad_fn is None and p.requires_grad


@pytest.mark.parametrize(
    "nonlinearity,param",
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 1),
        ("selu", None),
    ],
)
def test_calculate_gain(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("shape", SHAPES)
def test_fans(shape):
    t = torch.empty(shape)
    assert init._calculate_fan_in_and_fan_out(t) == nn.init._calculate_fan_in_and_fan_out(t)


def test_variance_formulas_on_a_large_tensor():
    torch.manual_seed(0)
    fan_out, fan_in, k = 256, 128, 3
    w = torch.empty(fan_out, fan_in, k, k)  # fan_in = 128*9, fan_out = 256*9
    fi, fo = fan_in * k * k, fan_out * k * k
    gain = init.calculate_gain("tanh")
    expected = {
        "xavier_normal_": gain * math.sqrt(2 / (fi + fo)),
        "xavier_uniform_": gain * math.sqrt(2 / (fi + fo)),
        "kaiming_normal_": math.sqrt(2) / math.sqrt(fi),
        "kaiming_uniform_": math.sqrt(2) / math.sqrt(fi),
    }
    for name, std in expected.items():
        kw = {"gain": gain} if name.startswith("xavier") else {"nonlinearity": "relu"}
        getattr(init, name)(w, **kw)
        # 295k draws: the sample std is within 1% of the population std
        assert abs(w.std().item() / std - 1) < 0.01, name
        assert abs(w.mean().item()) < 0.01 * std * 10, name
        if name.endswith("uniform_"):
            assert w.abs().max().item() <= math.sqrt(3) * std * (1 + 1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(torch.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


def test_zero_element_tensor_warns_and_is_left_alone():
    with pytest.warns(UserWarning, match="zero-element"):
        t = init.kaiming_uniform_(torch.empty(0, 3))
    assert t.shape == (0, 3)
