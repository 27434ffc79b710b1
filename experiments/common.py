"""Helpers the experiments share: data subsets, a training loop, evaluation, figures."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

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
    g = torch.Generator().manual_seed(data_seed)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = _fashion(split)
        idx = torch.randperm(len(images), generator=g)[:n]
        x = (images[idx].float().div(255.0) - FMNIST_MEAN) / FMNIST_STD
        out += [x.unsqueeze(1).contiguous(), labels[idx].clone()]
    return tuple(out)


def batch_indices(
    n: int, batch_size: int, steps: int, generator: torch.Generator
) -> Iterator[Tensor]:
    """``steps`` mini-batches of indices, each epoch a fresh permutation (no partial batch)."""
    batch_size = min(batch_size, n)
    perm, pos = torch.randperm(n, generator=generator), 0
    for _ in range(steps):
        if pos + batch_size > n:
            perm, pos = torch.randperm(n, generator=generator), 0
        yield perm[pos : pos + batch_size]
        pos += batch_size


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, device, batch_size: int = 1000,
             loss_fn: Callable | None = None) -> tuple[float, float]:  # fmt: skip
    """``(mean loss, accuracy)`` over ``(x, y)`` in eval mode; restores the mode after."""
    loss_fn = loss_fn or nn.functional.cross_entropy
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
        logits = model(xb)
        total_loss += float(loss_fn(logits, yb, reduction="sum"))
        correct += int((logits.argmax(-1) == yb).sum())
    model.train(was_training)
    return total_loss / len(x), correct / len(x)


def train_classifier(
    model: nn.Module,
    data: tuple[Tensor, Tensor, Tensor, Tensor],
    *,
    steps: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    device,
    seed: int,
    eval_every: int | None = None,
    eval_batch: int = 1000,
    train_eval: int | None = None,
    scheduler=None,
    on_step: Callable[[int, Tensor], None] | None = None,
) -> list[dict]:
    """Cross-entropy training for ``steps`` mini-batches; returns a list of evaluation
    points ``{"step", "train_loss", "train_acc", "test_loss", "test_acc"}`` (every
    ``eval_every`` steps and at the end; train metrics on the first ``train_eval`` examples). A loss that turns non-finite stops training and
    the last point records ``nan`` losses (the run diverged)."""
    x, y, x_test, y_test = data
    model.to(device).train()
    g = torch.Generator().manual_seed(seed)
    points: list[dict] = []

    def record(step: int, diverged: bool = False) -> None:
        if diverged:
            nan = float("nan")
            points.append({"step": step, "train_loss": nan, "train_acc": 0.1,
                           "test_loss": nan, "test_acc": 0.1})  # fmt: skip
            return
        n = len(x) if train_eval is None else min(train_eval, len(x))
        tr_loss, tr_acc = evaluate(model, x[:n], y[:n], device, eval_batch)
        te_loss, te_acc = evaluate(model, x_test, y_test, device, eval_batch)
        points.append({"step": step, "train_loss": tr_loss, "train_acc": tr_acc,
                       "test_loss": te_loss, "test_acc": te_acc})  # fmt: skip

    for step, idx in enumerate(batch_indices(len(x), batch_size, steps, g), start=1):
        xb, yb = x[idx].to(device), y[idx].to(device)
        loss = nn.functional.cross_entropy(model(xb), yb)
        if not math.isfinite(float(loss.detach())):
            record(step, diverged=True)
            return points
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if on_step is not None:
            on_step(step, loss.detach())
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if eval_every and step % eval_every == 0 and step != steps:
            record(step)
    record(steps)
    return points


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
