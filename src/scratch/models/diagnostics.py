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
