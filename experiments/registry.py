"""The experiments by name. Experiment ``NAME`` is the ``EXPERIMENT`` of module
``experiments/NAME.py``; modules are imported only when one is run or listed."""

from __future__ import annotations

import importlib

from .runner import Experiment, ExperimentError

# each is also the name of the module in this package that defines ``EXPERIMENT``
EXPERIMENTS: list[str] = [
    "dense_vs_conv",
    "mnist1d_table",
    "dropout_vs_batchnorm",
    "resnet_depth",
    "resnet_depth_small",
    "lstm_vs_transformer",
    "layer_speed",
]


def get(name: str) -> Experiment:
    """The experiment called ``name``."""
    if name not in EXPERIMENTS:
        raise ExperimentError(
            f"unknown experiment {name!r}; choose from {', '.join(sorted(EXPERIMENTS))}"
        )
    return importlib.import_module(f".{name}", __package__).EXPERIMENT


def names() -> list[str]:
    return list(EXPERIMENTS)
