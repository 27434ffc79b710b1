"""Per-layer gradient norms: how the signal that trains each layer changes with depth
(the vanishing gradients of a deep plain net, their absence in its residual twin)."""

from __future__ import annotations

import torch
from torch import nn

from ..conv import Conv1d, Conv2d


def grad_norms_by_layer(
    model: nn.Module, kinds: tuple[type[nn.Module], ...] = (Conv1d, Conv2d)
) -> list[tuple[str, float]]:
    r"""``[(name, ‖∂L/∂W‖₂), ...]`` for the weight of every ``kinds`` layer of ``model``,
    input to output (the order of ``model.named_modules()``).

    Call it after ``loss.backward()``. The norm is the Frobenius norm of the whole weight
    gradient, :math:`\sqrt{\sum_{ij\ldots} g_{ij\ldots}^2}`; pass ``kinds=(scratch.Linear,)``
    (or both) to look at dense layers.

    Raises:
        ValueError: if ``model`` has no layer of ``kinds``, or a weight has no gradient yet.
    """
    norms = []
    for name, module in model.named_modules():
        if not isinstance(module, kinds):
            continue
        grad = module.weight.grad
        if grad is None:
            raise ValueError(
                f"grad_norms_by_layer: {name or type(module).__name__}.weight has no gradient; "
                "call loss.backward() first"
            )
        # ‖g‖₂ over every entry of the weight's gradient
        norms.append((name, float(torch.sqrt((grad.detach().double() ** 2).sum()))))
    if not norms:
        kinds_names = ", ".join(k.__name__ for k in kinds)
        raise ValueError(f"grad_norms_by_layer: model has no layer of type {kinds_names}")
    return norms


def output_grad_norms(
    model: nn.Module,
    loss_fn,
    kinds: tuple[type[nn.Module], ...] = (Conv1d, Conv2d),
) -> list[tuple[str, float]]:
    r"""``[(name, ‖∂L/∂y‖₂), ...]`` for the output ``y`` of every ``kinds`` layer, input to
    output: the gradient *arriving* at each layer from the loss.

    ``loss_fn()`` must run ``model`` forward and return a scalar loss; this function runs it
    with temporary forward hooks, calls ``backward()`` (so the weights' ``.grad`` fill up as
    usual and :func:`grad_norms_by_layer` can be called next), and removes the hooks. While
    it runs, each watched layer hands a copy of its output to the rest of the net, so an
    in-place operation after the layer does not hide its gradient.

    A weight's gradient is the arriving gradient times the layer's input, so the two can
    disagree: in a deep plain net with small activations every weight gradient is tiny,
    while only the arriving gradient shows *where* the signal is lost. A layer called more
    than once contributes the norm over all its calls; one whose output gets no gradient
    (not called, or not on the loss's path) reports 0.

    Raises:
        ValueError: if ``model`` has no layer of ``kinds`` or ``loss_fn()`` never calls one.
    """
    names = [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]
    if not names:
        kinds_names = ", ".join(k.__name__ for k in kinds)
        raise ValueError(f"output_grad_norms: model has no layer of type {kinds_names}")
    squares: dict[str, float] = {}

    def watch(name: str):
        def hook(module, args, output):
            def record(grad):
                squares[name] = squares.get(name, 0.0) + float((grad.detach().double() ** 2).sum())

            output.register_hook(record)
            # hand the rest of the net a copy, so an in-place op downstream (a ReLU with
            # inplace=True, ``out += shortcut``) cannot move the hook off this tensor
            return output.clone()

        return hook

    handles = [m.register_forward_hook(watch(name)) for name, m in names]
    try:
        loss = loss_fn()
    finally:
        for h in handles:
            h.remove()
    loss.backward()
    missing = [name for name, _ in names if name not in squares]
    if len(missing) == len(names):
        raise ValueError("output_grad_norms: loss_fn() ran none of the watched layers")
    return [(name, squares.get(name, 0.0) ** 0.5) for name, _ in names]
