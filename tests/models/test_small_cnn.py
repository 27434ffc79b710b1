"""Document 003's classifier (225,034 parameters) and the shape table."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from scratch.analysis import shape_table
from scratch.models import SmallImageClassifier, resnet18
from scratch.utils import count_parameters
from tests.parity import assert_parity


def torch_twin(in_channels=1, num_classes=10, dropout=0.5, batchnorm=False, side=5):
    def block(i, c_in, c_out):
        mods = [(f"conv{i}", nn.Conv2d(c_in, c_out, 3))]
        mods += [(f"bn{i}", nn.BatchNorm2d(c_out))] if batchnorm else []
        return mods + [(f"relu{i}", nn.ReLU()), (f"pool{i}", nn.MaxPool2d(2))]

    return nn.Sequential(
        OrderedDict(
            block(1, in_channels, 32)
            + block(2, 32, 64)
            + [
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(64 * side * side, 128)),
                ("relu3", nn.ReLU()),
                ("dropout", nn.Dropout(dropout)),
                ("fc2", nn.Linear(128, num_classes)),
            ]
        )
    )


def test_document_003_parameter_count() -> None:
    model = SmallImageClassifier()
    assert count_parameters(model) == 225_034
    per_layer = {name: sum(p.numel() for p in m.parameters()) for name, m in model.named_children()}
    assert per_layer["conv1"] == 32 * 9 + 32 == 320
    assert per_layer["conv2"] == 64 * 32 * 9 + 64 == 18_496
    assert per_layer["fc1"] == 1600 * 128 + 128 == 204_928
    assert per_layer["fc2"] == 128 * 10 + 10 == 1_290
    # batchnorm adds a weight and a bias per channel of both convolutions
    assert count_parameters(SmallImageClassifier(batchnorm=True)) == 225_034 + 2 * (32 + 64)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_parity_with_the_torch_sequential(batchnorm: bool, train: bool) -> None:
    torch.manual_seed(0)
    dropout = 0.0 if train else 0.5  # dropout masks are random: compare it in eval only
    ours = SmallImageClassifier(dropout=dropout, batchnorm=batchnorm)
    theirs = torch_twin(dropout=dropout, batchnorm=batchnorm)
    assert_parity(ours, theirs, torch.randn(3, 1, 28, 28), train=train, atol=1e-4, rtol=1e-4)


def test_options_in_channels_classes_and_image_size() -> None:
    model = SmallImageClassifier(in_channels=3, num_classes=7, dropout=0.1, image_size=32)
    assert model.fc1.in_features == 64 * 6 * 6
    assert model.dropout.p == 0.1
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 7)


def test_shape_table_of_the_classifier() -> None:
    model = SmallImageClassifier()
    model.train()
    rows = shape_table(model, (1, 1, 28, 28))
    assert model.training  # mode restored
    assert [r["name"] for r in rows] == [
        "conv1",
        "relu1",
        "pool1",
        "conv2",
        "relu2",
        "pool2",
        "flatten",
        "fc1",
        "relu3",
        "dropout",
        "fc2",
    ]
    shapes = {r["name"]: r["output_shape"] for r in rows}
    assert shapes["conv1"] == (1, 32, 26, 26)
    assert shapes["pool1"] == (1, 32, 13, 13)
    assert shapes["conv2"] == (1, 64, 11, 11)
    assert shapes["pool2"] == (1, 64, 5, 5)
    assert shapes["flatten"] == (1, 1600)
    assert shapes["fc2"] == (1, 10)
    assert rows[0]["type"] == "Conv2d" and rows[0]["params"] == 320
    assert sum(r["params"] for r in rows) == 225_034
    assert set(rows[0]) == {"name", "type", "output_shape", "params"}
    # no hook is left behind
    assert all(not m._forward_hooks for m in model.modules())


def test_shape_table_lists_a_shared_module_at_each_call() -> None:
    rows = shape_table(resnet18(num_classes=10), (1, 3, 32, 32))
    names = [r["name"] for r in rows]
    assert names.count("layer1.0.relu") == 2  # after bn1 and after the addition
    assert sum(r["params"] for r in rows) == count_parameters(resnet18(num_classes=10))
    assert rows[-1]["name"] == "fc" and rows[-1]["output_shape"] == (1, 10)
    containers = shape_table(resnet18(num_classes=10), (1, 3, 32, 32), leaves_only=False)
    assert "layer1.0" in [r["name"] for r in containers]


@pytest.mark.parametrize(
    "x, error, match",
    [
        (torch.randn(1, 28, 28), ValueError, "SmallImageClassifier: expected input of shape"),
        (torch.randn(1, 3, 28, 28), ValueError, "expected input channels = 1, got 3"),
        (torch.randn(1, 1, 32, 32), ValueError, r"expected 28×28 images"),
    ],
)
def test_bad_inputs(x, error, match) -> None:
    with pytest.raises(error, match=match):
        SmallImageClassifier()(x)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="SmallImageClassifier: dropout must be in"):
        SmallImageClassifier(dropout=2.0)
    with pytest.raises(ValueError, match="expected image_size >= 10"):
        SmallImageClassifier(image_size=8)
