"""scratch.models re-exports every model, and the file of each is importable by name."""

from __future__ import annotations

import inspect

import scratch
import scratch.analysis as analysis
import scratch.models as models


def test_every_exported_name_resolves() -> None:
    assert scratch.models is models
    for name in models.__all__:
        assert getattr(models, name) is not None, name
    assert set(models.__all__) >= {
        "MLP",
        "SmallImageClassifier",
        "resnet18",
        "resnet152",
        "ResNet",
        "resnet20",
        "resnet110",
        "plain20",
        "cifar_resnet",
        "DenseBlock",
        "DenseLayer",
        "TransformerClassifier",
        "TransformerLM",
        "RNNClassifier",
    }


def test_cifar_resnet_is_the_function_and_its_module_stays_importable() -> None:
    assert inspect.isfunction(models.cifar_resnet)
    from scratch.models.cifar_resnet import CifarResNet

    assert isinstance(models.cifar_resnet(20), CifarResNet)


def test_shape_table_of_a_single_layer_lists_the_layer() -> None:
    rows = analysis.shape_table(scratch.Linear(3, 2), (4, 3))
    assert rows == [{"name": "", "type": "Linear", "output_shape": (4, 2), "params": 8}]
