"""From-scratch twins of ``torch.nn`` layers.

Every public class here has the same name, constructor signature, defaults, parameter
names and ``state_dict`` keys as its ``torch.nn`` namesake, so weights load both ways::

    >>> import torch, scratch
    >>> ours, theirs = scratch.Linear(4, 3), torch.nn.Linear(4, 3)
    >>> _ = ours.load_state_dict(theirs.state_dict())

Names are imported lazily (PEP 562), so ``import scratch`` stays cheap and each layer
family lives in a file of its own.

What lives where (``src/scratch/``):

=======================  ===========================================================
Layers                   ``linear``, ``activation``, ``conv``, ``pooling``,
                         ``embedding``, ``recurrent``, ``attention``, ``transformer``,
                         ``dropout``, ``normalization``; ``init`` (initializers) and
                         ``_checks`` (the input checks they share). Each is tested
                         against torch in ``tests/layers/``.
Models                   ``scratch.models``: ``mlp``, ``small_cnn``, ``cifar_resnet``,
                         ``resnet``, ``densenet``, ``mnist1d``, ``sequence``: every
                         network of the chapters and experiments, built from the
                         layers.
Analysis tools           ``scratch.analysis``: ``gradients`` (gradient norms per layer),
                         ``summary`` (``shape_table``), ``landscape`` (covariate
                         shift, loss landscape), ``cka`` (representational
                         similarity). They measure any network; none is a layer.
Book infrastructure      ``evidence`` (verdicts), ``rules`` (claim rules), ``data``
                         (offline data sets and synthetic tasks), ``wordvectors``,
                         ``show`` (``show_source``), ``exercises``, ``training``
                         (the one training loop), ``utils`` (seeds),
                         ``reproducibility``.
=======================  ===========================================================
"""

from __future__ import annotations

import importlib

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    # dense and shape
    "Linear": "linear",
    "Flatten": "linear",
    # activations
    "ReLU": "activation",
    "GELU": "activation",
    "Sigmoid": "activation",
    "Tanh": "activation",
    "Softmax": "activation",
    # convolution and pooling
    "Conv1d": "conv",
    "Conv2d": "conv",
    "MaxPool1d": "pooling",
    "MaxPool2d": "pooling",
    "AvgPool1d": "pooling",
    "AvgPool2d": "pooling",
    "AdaptiveAvgPool2d": "pooling",
    "AdaptiveMaxPool2d": "pooling",
    # embedding
    "Embedding": "embedding",
    # recurrent
    "RNN": "recurrent",
    "LSTM": "recurrent",
    "GRU": "recurrent",
    # attention and transformer
    "scaled_dot_product_attention": "attention",
    "MultiheadAttention": "attention",
    "TransformerEncoderLayer": "transformer",
    "TransformerDecoderLayer": "transformer",
    "PositionalEncoding": "transformer",
    # regularization and normalization
    "Dropout": "dropout",
    "BatchNorm1d": "normalization",
    "BatchNorm2d": "normalization",
    "LayerNorm": "normalization",
    "GroupNorm": "normalization",
    "InstanceNorm2d": "normalization",
}

_SUBMODULES = (
    "init",
    "models",
    "analysis",
    "evidence",
    "rules",
    "training",
    "data",
    "utils",
    "reproducibility",
)

__all__ = sorted(_EXPORTS) + list(_SUBMODULES)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'scratch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
