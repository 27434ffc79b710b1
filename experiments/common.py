"""Helpers the experiments share: data subsets, a training loop, evaluation, figures."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from scratch.training import batch_indices, evaluate, fit  # noqa: F401 (re-exported)
from scratch.utils import generator

from .runner import atomic_write_text as atomic_text  # noqa: F401 (re-exported)

FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530  # over the 60,000 training images


@functools.lru_cache(maxsize=2)
def _fashion(split: str) -> tuple[Tensor, Tensor]:
    from scratch.data import load_fashion_mnist

    return load_fashion_mnist(split)


def fashion_subset(n_train: int, n_test: int, data_seed: int = 0):
    """A fixed random subset of Fashion-MNIST (the same for every seed of a run),
    normalized to zero mean and unit variance: ``(x, y, x_test, y_test)`` with images
    ``(N, 1, 28, 28)`` ``float32``."""
    g = generator(data_seed)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = _fashion(split)
        idx = torch.randperm(len(images), generator=g)[:n]
        x = (images[idx].float().div(255.0) - FMNIST_MEAN) / FMNIST_STD
        out += [x.unsqueeze(1).contiguous(), labels[idx].clone()]
    return tuple(out)


def train_classifier(
    model: nn.Module, data, *, optimizer: torch.optim.Optimizer, device, **kwargs
) -> list[dict]:
    """:func:`scratch.training.fit` with the experiments' keyword names."""
    return fit(model, data, optimizer=optimizer, device=device, **kwargs)


def save_figure(fig, path: Path) -> Path:
    """Save a ``matplotlib.figure.Figure`` (no pyplot, no global backend) atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def new_figure(ncols: int = 1, width: float = 5.0, height: float = 3.6):
    """A ``Figure`` with ``ncols`` axes, drawn with the Agg canvas (no display needed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def fmt_pct(x: float) -> str:
    return f"{100 * x:.1f} %"
