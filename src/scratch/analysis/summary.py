"""A per-layer table of output shapes and parameter counts, read off forward hooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def _shape_of(output: object) -> object:
    """``(N, C, H, W)`` for a tensor; a tuple of shapes for a tuple (an RNN's ``(out, h)``)."""
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return tuple(_shape_of(o) for o in output)
    return None


def _dummy_input(input_shape: Sequence[int], dtype: torch.dtype) -> Tensor:
    """Standard-normal values for a floating dtype, zeros (token ids) for an integer one."""
    if dtype.is_floating_point:
        return torch.randn(tuple(input_shape), dtype=dtype)
    return torch.zeros(tuple(input_shape), dtype=dtype)


def _listed(name: str, module: nn.Module, leaves_only: bool) -> bool:
    """Whether ``module`` (named ``name`` in the model, ``""`` for the model) gets rows."""
    is_leaf = next(module.children(), None) is None
    owns = next(module.parameters(recurse=False), None) is not None
    if not name:  # the model itself gets a row only when it is a layer
        return is_leaf or owns
    return not leaves_only or is_leaf or owns


def _recorder(rows: list[dict[str, object]], name: str) -> Callable:
    """A forward hook that appends the row of the module named ``name`` to ``rows``."""

    def hook(module: nn.Module, args: tuple, output: object) -> None:
        own = sum(p.numel() for p in module.parameters(recurse=False))
        row = {"name": name, "type": type(module).__name__, "output_shape": _shape_of(output)}
        rows.append(row | {"params": own})

    return hook


def shape_table(
    model: nn.Module,
    input_shape: Sequence[int],
    dtype: torch.dtype = torch.float32,
    leaves_only: bool = True,
) -> list[dict[str, object]]:
    """Run one forward pass on a dummy input and list every layer call in execution order.

    Each row is a dict ``{"name", "type", "output_shape", "params"}``: the module's
    dotted name in ``model``, its class name, the shape of what it returned, and the
    number of parameters it owns directly (so, when each layer runs once, the column sums
    to the model's total). A module called twice (a residual block's shared ``relu``)
    gives two rows; a module never called gives none.
    ``pandas.DataFrame(shape_table(...))`` prints it as a table.

    Args:
        model: any module; it runs in eval mode under ``torch.no_grad()`` and is put back
            in the mode it was in.
        input_shape: shape of the dummy input, batch dimension included, e.g.
            ``(1, 1, 28, 28)``.
        dtype: dtype of the dummy input; an integer dtype gives zeros (token ids),
            a floating one standard-normal values.
        leaves_only: list only modules without children, and those that own parameters
            directly (``MultiheadAttention``); ``False`` adds every container.
    """
    x = _dummy_input(input_shape, dtype)
    rows: list[dict[str, object]] = []
    handles = [
        module.register_forward_hook(_recorder(rows, name))
        for name, module in model.named_modules()
        if _listed(name, module, leaves_only)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return rows
