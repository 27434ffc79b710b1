"""The one training loop of the book: fit a classifier, evaluate it, repeat over seeds.

The chapters and the experiments share these, so a chapter's verdict and an experiment's
come from the same loop::

    runs = over_seeds(lambda seed: fit(make_model(), data, steps=200, batch_size=64,
                                       lr=0.1, seed=seed)[-1]["test_acc"])

:func:`fit` draws its mini-batches from ``scratch.utils.generator(seed)``, so the
robustness run's seed offset moves them too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import torch
from torch import Tensor, nn

from .utils import generator, seed_all

T = TypeVar("T")

#: The seeds a chapter replicates a training run over (see ``scratch.evidence.MIN_SEEDS``).
SEEDS = (0, 1, 2)


def batch_indices(n: int, batch_size: int, steps: int, gen: torch.Generator) -> Iterator[Tensor]:
    """``steps`` mini-batches of indices, each epoch a fresh permutation (no partial batch)."""
    batch_size = min(batch_size, n)
    perm, pos = torch.randperm(n, generator=gen), 0
    for _ in range(steps):
        if pos + batch_size > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        yield perm[pos : pos + batch_size]
        pos += batch_size


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    device: torch.device | str = "cpu",
    batch_size: int = 1000,
    loss_fn: Callable | None = None,
) -> tuple[float, float]:
    """``(mean loss, accuracy)`` of a classifier over ``(x, y)`` in eval mode; the model's
    mode is restored afterwards."""
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


def accuracy(model: nn.Module, x: Tensor, y: Tensor, device: torch.device | str = "cpu") -> float:
    """Fraction of ``(x, y)`` classified correctly, in eval mode."""
    return evaluate(model, x, y, device)[1]


def _point(step: int, train: tuple[float, float], test: tuple[float, float]) -> dict:
    """One evaluation point of :func:`fit` from ``(loss, accuracy)`` on train and test."""
    (train_loss, train_acc), (test_loss, test_acc) = train, test
    return {
        "step": step,
        "train_loss": train_loss,
        "train_acc": train_acc,
        "test_loss": test_loss,
        "test_acc": test_acc,
    }


def _evaluation_point(
    model: nn.Module,
    data: tuple[Tensor, Tensor, Tensor, Tensor],
    step: int,
    device: torch.device | str,
    eval_batch: int,
    train_eval: int | None,
) -> dict:
    """Evaluate on the first ``train_eval`` training examples (all when ``None``) and on
    the test set."""
    x, y, x_test, y_test = data
    n = len(x) if train_eval is None else min(train_eval, len(x))
    train = evaluate(model, x[:n], y[:n], device, eval_batch)
    return _point(step, train, evaluate(model, x_test, y_test, device, eval_batch))


#: The optimizers :func:`fit` and :func:`train` accept by name.
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def epoch_indices(n: int, batch_size: int, epochs: int, gen: torch.Generator) -> Iterator[Tensor]:
    """Every example once per epoch, in a fresh permutation, in batches of ``batch_size``
    (the last batch of an epoch is smaller when ``batch_size`` does not divide ``n``)."""
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


def make_optimizer(
    model: nn.Module,
    optimizer: str | torch.optim.Optimizer | None = "sgd",
    lr: float = 0.1,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """``optimizer`` itself when it is one; else the optimizer it names in
    :data:`OPTIMIZERS` (``None``: SGD) over ``model``'s parameters."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    name = optimizer or "sgd"
    if name not in OPTIMIZERS:
        raise ValueError(f"fit: expected an optimizer in {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](model.parameters(), lr=lr, weight_decay=weight_decay)


def _batches(n: int, batch_size: int, seed: int, steps: int | None, epochs: int | None):
    """``(number of steps, batch iterator)`` for exactly one of ``steps`` and ``epochs``."""
    if (steps is None) == (epochs is None):
        raise ValueError("fit: give exactly one of steps and epochs")
    if steps is not None:
        return steps, batch_indices(n, batch_size, steps, generator(seed))
    return epochs * math.ceil(n / batch_size), epoch_indices(n, batch_size, epochs, generator(seed))


def fit(
    model: nn.Module,
    data: tuple[Tensor, ...],
    *,
    batch_size: int,
    seed: int,
    steps: int | None = None,
    epochs: int | None = None,
    optimizer: str | torch.optim.Optimizer | None = None,
    lr: float = 0.1,
    weight_decay: float = 0.0,
    device: torch.device | str = "cpu",
    eval_every: int | None = None,
    eval_batch: int = 1000,
    train_eval: int | None = None,
    scheduler=None,
    on_step: Callable[[int, Tensor], None] | None = None,
) -> list[dict]:
    """Cross-entropy training on ``data = (x, y, x_test, y_test)``, for ``steps``
    mini-batches (:func:`batch_indices`) or ``epochs`` passes (:func:`epoch_indices`).

    ``optimizer`` is an optimizer, a name in :data:`OPTIMIZERS` (built with ``lr`` and
    ``weight_decay``) or ``None`` for plain SGD. Returns the evaluation points
    ``{"step", "train_loss", "train_acc", "test_loss", "test_acc"}``, every ``eval_every``
    steps and at the end (train metrics on the first ``train_eval`` examples); with
    ``data = (x, y)`` nothing is evaluated and the list is empty. A loss that turns
    non-finite stops training; the last point then records ``nan`` losses and chance
    accuracy (the run diverged).
    """
    if len(data) not in (2, 4):
        raise ValueError(f"fit: expected data (x, y) or (x, y, x_test, y_test), got {len(data)}")
    x, y = data[0], data[1]
    evaluated = len(data) == 4
    model.to(device).train()
    optimizer = make_optimizer(model, optimizer, lr, weight_decay)
    steps, batches = _batches(len(x), min(batch_size, len(x)), seed, steps, epochs)
    points: list[dict] = []
    for step, idx in enumerate(batches, start=1):
        xb, yb = x[idx].to(device), y[idx].to(device)
        loss = nn.functional.cross_entropy(model(xb), yb)
        if not math.isfinite(float(loss.detach())):
            nan, chance = float("nan"), 1.0 / (int(y.max()) + 1)
            points.append(_point(step, (nan, chance), (nan, chance)))  # diverged
            return points
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if on_step is not None:
            on_step(step, loss.detach())
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if evaluated and eval_every and step % eval_every == 0 and step != steps:
            points.append(_evaluation_point(model, data, step, device, eval_batch, train_eval))
    if evaluated:
        points.append(_evaluation_point(model, data, steps, device, eval_batch, train_eval))
    return points


def train(
    model: nn.Module,
    data: tuple[Tensor, ...],
    *,
    probe: Callable[[int], None] | None = None,
    probe_every: int = 10,
    **fit_kwargs,
) -> tuple[list[float], list[dict]]:
    """:func:`fit` that also keeps the loss of every step: returns ``(losses, points)``.

    ``probe(k)`` is called after ``k`` updates for ``k = 0, probe_every, 2·probe_every,
    ...`` and after the last one (not after a divergence). The other keywords are
    :func:`fit`'s.

    Examples::

        >>> import torch, scratch
        >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
        >>> losses, points = train(scratch.Linear(4, 3), (x, y), epochs=2, batch_size=20, seed=0)
        >>> len(losses), points
        (8, [])
    """
    losses: list[float] = []
    probed: list[int] = []

    def on_step(step: int, loss: Tensor) -> None:  # before update number `step`
        losses.append(loss.item())
        if probe is not None and (step - 1) % probe_every == 0:
            probe(step - 1)
            probed.append(step - 1)

    points = fit(model, data, on_step=on_step, **fit_kwargs)
    diverged = bool(points) and math.isnan(points[-1]["test_loss"])
    if probe is not None and not diverged and len(losses) not in probed:
        probe(len(losses))
    return losses, points


def over_seeds(run: Callable[[int], T], seeds: Iterable[int] = SEEDS) -> list[T]:
    """``[run(seed) for seed in seeds]``, each after :func:`scratch.utils.seed_all` (seed),
    so that model initialization and dropout masks are replicated too."""
    results = []
    for seed in seeds:
        seed_all(seed)
        results.append(run(seed))
    return results
