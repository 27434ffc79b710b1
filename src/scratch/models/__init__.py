"""Whole networks built from the library's layers, for the chapters and experiments.

``scratch.models.resnet18()`` has torchvision's module tree and ``state_dict`` keys;
``scratch.models.resnet20()`` is the CIFAR ResNet of He et al. (2016, section 4.2);
``SmallImageClassifier`` is document 003's 28×28 classifier.

The networks live in ``mlp``, ``small_cnn``, ``cifar_resnet``, ``resnet``, ``densenet``,
``mnist1d`` and ``sequence``; the tools that measure them (gradient norms per layer,
``shape_table``, CKA) are in :mod:`scratch.analysis`. Every network of the chapters and
the experiments is here.

Note: ``scratch.models.cifar_resnet`` is the *function* ``cifar_resnet(depth, ...)``
(binding it here shadows the submodule of the same name); reach the module's other
names with ``from scratch.models.cifar_resnet import CifarResNet``.
"""

from __future__ import annotations

from .cifar_resnet import (
    CifarBasicBlock,
    CifarResNet,
    ShortcutA,
    cifar_resnet,
    plain20,
    plain32,
    plain44,
    plain56,
    plain110,
    resnet20,
    resnet32,
    resnet44,
    resnet56,
    resnet110,
)
from .densenet import DenseBlock, DenseLayer
from .mlp import MLP
from .mnist1d import Mnist1dCNN, Mnist1dGRU
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from .sequence import (
    AttentionProbe,
    RelationTransformer,
    RNNClassifier,
    SequenceTransformer,
    TransformerClassifier,
    TransformerLM,
    causal_mask,
)
from .small_cnn import SmallImageClassifier

__all__ = [
    "MLP",
    "Mnist1dCNN",
    "Mnist1dGRU",
    "SequenceTransformer",
    "AttentionProbe",
    "RelationTransformer",
    "BasicBlock",
    "Bottleneck",
    "CifarBasicBlock",
    "CifarResNet",
    "DenseBlock",
    "DenseLayer",
    "RNNClassifier",
    "ResNet",
    "ShortcutA",
    "SmallImageClassifier",
    "TransformerClassifier",
    "TransformerLM",
    "causal_mask",
    "cifar_resnet",
    "plain20",
    "plain32",
    "plain44",
    "plain56",
    "plain110",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet56",
    "resnet101",
    "resnet110",
    "resnet152",
]
