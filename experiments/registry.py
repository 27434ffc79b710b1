"""The experiments by name. Modules are imported only when one is run or listed."""

from __future__ import annotations

import importlib

from .runner import Experiment, ExperimentError

# name -> module in this package that defines ``EXPERIMENT``
EXPERIMENTS: dict[str, str] = {
    "dense_vs_conv": "dense_vs_conv",
    "mnist1d_table": "mnist1d_table",
    "dropout_vs_batchnorm": "dropout_vs_batchnorm",
    "resnet_depth": "resnet_depth",
    "resnet_depth_small": "resnet_depth_small",
    "lstm_vs_transformer": "lstm_vs_transformer",
    "layer_speed": "layer_speed",
}


def get(name: str) -> Experiment:
    """The experiment called ``name``."""
    if name not in EXPERIMENTS:
        raise ExperimentError(
            f"unknown experiment {name!r}; choose from {', '.join(sorted(EXPERIMENTS))}"
        )
    module = importlib.import_module(f".{EXPERIMENTS[name]}", __package__)
    return module.EXPERIMENT


def names() -> list[str]:
    return list(EXPERIMENTS)
