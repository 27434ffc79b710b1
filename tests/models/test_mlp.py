"""MLP: the layer list it builds, parity with the same torch.nn.Sequential, bad inputs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from scratch.models import MLP
from scratch.utils import count_parameters
from tests.parity import assert_parity

TORCH_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def torch_twin(in_f, hidden, out_f, activation, dropout, batchnorm, bias) -> nn.Sequential:
    """The same network from torch.nn, module for module."""
    layers: list[nn.Module] = []
    for a, b in zip([in_f, *hidden], hidden):
        layers.append(nn.Linear(a, b, bias=bias))
        if batchnorm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(TORCH_ACTIVATIONS.get(activation, nn.Identity)())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(([in_f, *hidden])[-1], out_f, bias=bias))
    return nn.Sequential(*layers)


@given(
    in_f=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 6), max_size=3),
    out_f=st.integers(1, 5),
    activation=st.sampled_from(["relu", "gelu", "tanh", "sigmoid", "identity"]),
    batchnorm=st.booleans(),
    bias=st.booleans(),
    train=st.booleans(),
)
def test_parity_with_the_torch_sequential(in_f, hidden, out_f, activation, batchnorm, bias, train):
    torch.manual_seed(0)
    ours = MLP(in_f, hidden, out_f, activation=activation, batchnorm=batchnorm, bias=bias)
    theirs = torch_twin(in_f, hidden, out_f, activation, 0.0, batchnorm, bias)
    x = torch.randn(5, in_f)
    # a BN over a width-1 layer makes the gradient before it ~0 (pure rounding): atol 1e-4
    assert_parity(ours, theirs, x, train=train, atol=1e-4, rtol=1e-4)


def test_layer_list_and_parameter_count() -> None:
    model = MLP(784, [256, 128], 10, dropout=0.2, batchnorm=True)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert [(m.in_features, m.out_features) for m in model.linears()] == [
        (784, 256),
        (256, 128),
        (128, 10),
    ]
    expected = (784 * 256 + 256) + 2 * 256 + (256 * 128 + 128) + 2 * 128 + (128 * 10 + 10)
    assert count_parameters(model) == expected == 235_914
    assert model(torch.randn(4, 784)).shape == (4, 10)


def test_no_hidden_layer_is_one_linear_and_no_bias_means_no_bias() -> None:
    model = MLP(3, [], 2, bias=False)
    assert len(model) == 1 and isinstance(model[0], scratch.Linear) and model[0].bias is None
    assert list(model.state_dict()) == ["0.weight"]


def test_identity_activation_collapses_to_one_linear_map() -> None:
    torch.manual_seed(0)
    model = MLP(4, [8, 8], 3, activation="identity").double()
    x = torch.randn(6, 4, dtype=torch.float64)
    w = torch.eye(4, dtype=torch.float64)
    b = torch.zeros(4, dtype=torch.float64)
    for lin in model.linears():  # compose y = W3(W2(W1 x + b1) + b2) + b3
        w, b = lin.weight @ w, lin.weight @ b + lin.bias
    torch.testing.assert_close(model(x), x @ w.T + b)


def test_activation_accepts_a_factory_and_dropout_acts_in_train_only() -> None:
    torch.manual_seed(0)
    model = MLP(10, [50], 2, activation=lambda: scratch.GELU(), dropout=0.5)
    assert isinstance(model[1], scratch.GELU) and isinstance(model[2], scratch.Dropout)
    x = torch.randn(8, 10)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    assert not torch.allclose(model(x), model(x))


def test_every_parameter_gets_a_gradient() -> None:
    model = MLP(5, [7, 7], 3, batchnorm=True)
    model(torch.randn(4, 5)).pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(activation="swish"), ValueError, "MLP: expected activation in"),
        (dict(activation=3), TypeError, "MLP: expected activation to be a name"),
        (dict(dropout=1.5), ValueError, "MLP: dropout must be in"),
        (dict(hidden_features=[4, 0]), ValueError, "MLP: expected positive widths"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match) -> None:
    args = dict(in_features=3, hidden_features=[4], out_features=2) | kwargs
    with pytest.raises(error, match=match):
        MLP(**args)


def test_bad_inputs() -> None:
    model = MLP(3, [4], 2)
    with pytest.raises(ValueError, match="MLP: expected input with last dimension in_features = 3"):
        model(torch.randn(2, 5))
    with pytest.raises(TypeError, match="MLP: expected input to be a torch.Tensor"):
        model([[1.0, 2.0, 3.0]])
