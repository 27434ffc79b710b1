"""DenseLayer and DenseBlock against torchvision's private _DenseLayer/_DenseBlock."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torchvision.models.densenet import _DenseBlock, _DenseLayer

from scratch.models import DenseBlock, DenseLayer
from scratch.utils import count_parameters
from tests.parity import assert_parity, assert_same_state_layout


@given(
    num_layers=st.integers(1, 4),
    num_input_features=st.integers(1, 8),
    bn_size=st.integers(1, 4),
    growth_rate=st.integers(1, 6),
    train=st.booleans(),
)
def test_block_parity_with_torchvision(num_layers, num_input_features, bn_size, growth_rate, train):
    torch.manual_seed(0)
    ours = DenseBlock(num_layers, num_input_features, bn_size, growth_rate, drop_rate=0.0)
    theirs = _DenseBlock(num_layers, num_input_features, bn_size, growth_rate, drop_rate=0.0)
    x = torch.randn(2, num_input_features, 5, 5)
    assert_parity(ours, theirs, x, train=train, atol=1e-4, rtol=1e-4)


def test_state_dict_keys_are_torchvisions() -> None:
    ours, theirs = DenseBlock(2, 4, 4, 3, 0.0), _DenseBlock(2, 4, 4, 3, 0.0)
    assert_same_state_layout(ours, theirs)
    assert list(ours.state_dict())[:3] == [
        "denselayer1.norm1.weight",
        "denselayer1.norm1.bias",
        "denselayer1.norm1.running_mean",
    ]


def test_layer_parity_with_a_list_of_features() -> None:
    torch.manual_seed(0)
    ours, theirs = DenseLayer(6, 4, 2), _DenseLayer(6, 4, 2, 0.0)
    pieces = [torch.randn(2, 2, 4, 4), torch.randn(2, 4, 4, 4)]
    assert_parity(ours, theirs, pieces, train=True, call=lambda m, xs: m(xs))
    assert ours(pieces).shape == ours(torch.cat(pieces, 1)).shape == (2, 4, 4, 4)


@given(
    num_layers=st.integers(1, 6),
    c_in=st.integers(1, 32),
    growth_rate=st.integers(1, 16),
    bn_size=st.integers(1, 4),
)
def test_feature_reuse_channel_arithmetic(num_layers, c_in, growth_rate, bn_size) -> None:
    block = DenseBlock(num_layers, c_in, bn_size, growth_rate).eval()
    x = torch.randn(1, c_in, 3, 3)
    out = block(x)
    assert out.shape == (1, c_in + num_layers * growth_rate, 3, 3)
    assert block.num_output_features == c_in + num_layers * growth_rate
    torch.testing.assert_close(out[:, :c_in], x)  # the input is passed on unchanged
    for i, layer in enumerate(block.values()):
        assert layer.conv1.in_channels == c_in + i * growth_rate
        assert layer.conv1.out_channels == bn_size * growth_rate
        assert layer.conv2.out_channels == growth_rate
    # bottleneck + 3x3 + two BNs per layer
    expected = sum(
        (c_in + i * growth_rate) * (bn_size * growth_rate + 2)
        + bn_size * growth_rate * (9 * growth_rate + 2)
        for i in range(num_layers)
    )
    assert count_parameters(block) == expected


def test_dropout_acts_in_training_only() -> None:
    torch.manual_seed(0)
    block = DenseBlock(2, 4, 2, 8, drop_rate=0.5)
    x = torch.randn(2, 4, 6, 6)
    block.eval()
    torch.testing.assert_close(block(x), block(x))
    block.train()
    new = block(x)[:, 4:]
    assert (new == 0).float().mean() > 0.3  # about half the new features are dropped


def test_bad_inputs() -> None:
    layer = DenseLayer(4, 2, 2)
    with pytest.raises(ValueError, match="DenseLayer: expected input channels = 4, got 3"):
        layer(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match="DenseLayer: expected input of shape"):
        layer(torch.randn(4, 5, 5))
    with pytest.raises(ValueError, match="DenseLayer: drop_rate must be in"):
        DenseLayer(4, 2, 2, drop_rate=1.5)
