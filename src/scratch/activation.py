r"""Activation functions, written from ``exp``, ``erf``, ``expm1`` and comparisons.

The plain functions (``relu``, ``gelu``, ``sigmoid``, ``tanh``, ``softmax``,
``log_softmax``) are what the other layers import by name; the classes wrap them as
modules with torch's names and ``extra_repr``.

Numerical care, the point of this file:

* ``sigmoid`` never exponentiates a positive number: with :math:`e = \exp(-|x|) \in (0, 1]`,
  :math:`\sigma(x) = 1/(1+e)` for :math:`x \ge 0` and :math:`e/(1+e)` for :math:`x < 0`.
  Both branches stay finite for any input, so ``torch.where`` passes no NaN gradient.
* ``tanh`` uses :math:`\tanh|x| = -u/(2+u)`, :math:`u = \operatorname{expm1}(-2|x|)`, exact
  near 0 (no :math:`1 - e` cancellation) and finite at :math:`\pm\infty`.
* ``softmax`` subtracts the row maximum first: :math:`\operatorname{softmax}(x) =
  \operatorname{softmax}(x - c)` for any constant :math:`c`, and with :math:`c = \max x` the
  largest exponent is :math:`e^0 = 1`, so nothing overflows.

:math:`-|x|` is computed as ``where(x >= 0, -x, x)`` rather than ``-x.abs()``: ``abs`` has
gradient 0 at 0, which would make :math:`\sigma'(0)` and :math:`\tanh'(0)` come out 0.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor, nn

from ._checks import check_float, check_tensor

__all__ = [
    "GELU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "gelu",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


def _neg_abs(x: Tensor) -> Tensor:
    # -|x|, with gradient -1 (not 0) at x = 0
    return torch.where(x >= 0, -x, x)


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`\operatorname{relu}(x) = \max(0, x)`; gradient 1 where :math:`x > 0`, else 0.

    Args:
        x: the input, any shape.
        inplace: if ``True``, write the result into ``x`` itself.

    Examples::

        >>> import torch
        >>> from scratch.activation import relu
        >>> relu(torch.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    check_tensor("relu", "input", x)
    if inplace:
        # x[x <= 0] = 0, in the input's own memory
        return x.masked_fill_(x <= 0, 0)
    # relu(x) = x if x > 0 else 0 (NaN stays NaN, like torch)
    return torch.where(x <= 0, 0, x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    r"""Gaussian error linear unit :math:`x\,\Phi(x)`.

    ``'none'``: :math:`\tfrac12 x\,(1 + \operatorname{erf}(x/\sqrt2))`;
    ``'tanh'``: :math:`\tfrac12 x\,(1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715 x^3)))`.

    Args:
        x: the input, a floating-point tensor of any shape.
        approximate: ``'none'`` for the exact :math:`\Phi` (via ``erf``), ``'tanh'`` for the
            tanh fit.

    Examples::

        >>> import torch
        >>> from scratch.activation import gelu
        >>> gelu(torch.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """
    check_float("gelu", "input", x)
    if approximate == "none":
        # x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
        return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + tanh(inner))
    raise ValueError(f"gelu: expected approximate to be 'none' or 'tanh', got {approximate!r}")


def sigmoid(x: Tensor) -> Tensor:
    r""":math:`\sigma(x) = 1/(1 + e^{-x})`, evaluated without overflow for any :math:`x`.

    Examples::

        >>> import torch
        >>> from scratch.activation import sigmoid
        >>> sigmoid(torch.tensor([-1000.0, 0.0, 1000.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    check_float("sigmoid", "input", x)
    # e = exp(-|x|) in (0, 1]
    e = torch.exp(_neg_abs(x))
    # sigma(x) = 1 / (1 + e) for x >= 0;  e / (1 + e) = 1 - sigma(|x|) for x < 0
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x: Tensor) -> Tensor:
    r""":math:`\tanh(x) = (e^{x} - e^{-x})/(e^{x} + e^{-x}) = 2\sigma(2x) - 1`, odd in
    :math:`x`, finite for any :math:`x`.

    Examples::

        >>> import torch
        >>> from scratch.activation import tanh
        >>> tanh(torch.tensor([-1000.0, 0.0, 1.0]))
        tensor([-1.0000,  0.0000,  0.7616])
    """
    check_float("tanh", "input", x)
    # u = expm1(-2|x|) in (-1, 0]
    u = torch.expm1(2.0 * _neg_abs(x))
    # tanh|x| = (1 - e^{-2|x|}) / (1 + e^{-2|x|}) = -u / (2 + u)
    t = -u / (2.0 + u)
    # tanh(x) = sign(x) tanh|x|
    return torch.where(x >= 0, t, -t)


def _check_dim(layer: str, x: Tensor, dim: int) -> None:
    n = max(x.dim(), 1)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{layer}: expected dim to be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise ValueError(
            f"{layer}: expected dim in [{-n}, {n - 1}] for a {x.dim()}-D input, got {dim}"
        )


def softmax(x: Tensor, dim: int, dtype: torch.dtype | None = None) -> Tensor:
    r""":math:`\operatorname{softmax}(x)_i = e^{x_i - m} / \sum_j e^{x_j - m}` along ``dim``,
    with :math:`m = \max_j x_j`, so no exponent overflows.

    Args:
        x: the input, a floating-point tensor.
        dim: the axis whose slices sum to 1.
        dtype: if given, ``x`` is cast to it first (e.g. to compute in float64).

    Examples::

        >>> import torch
        >>> from scratch.activation import softmax
        >>> softmax(torch.tensor([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]]), dim=1)
        tensor([[0.0900, 0.2447, 0.6652],
                [0.5000, 0.5000, 0.0000]])
    """
    check_float("softmax", "input", x)
    _check_dim("softmax", x, dim)
    if dtype is not None:
        x = x.to(dtype)
    # m = max_j x_j (a constant shift: it changes neither the value nor the gradient)
    m = x.amax(dim, keepdim=True).detach()
    # a non-finite max (an all -inf row) shifts by 0; the row is NaN, as in torch
    m = torch.where(torch.isfinite(m), m, 0.0)
    e = torch.exp(x - m)
    # e_i / sum_j e_j
    return e / e.sum(dim, keepdim=True)


def log_softmax(x: Tensor, dim: int, dtype: torch.dtype | None = None) -> Tensor:
    r""":math:`\log\operatorname{softmax}(x)_i = (x_i - m) - \log\sum_j e^{x_j - m}`, with
    :math:`m = \max_j x_j`: finite where ``log(softmax(x))`` would give :math:`-\infty`.

    Args:
        x: the input, a floating-point tensor.
        dim: the axis along which to normalize.
        dtype: if given, ``x`` is cast to it first.

    Examples::

        >>> import torch
        >>> from scratch.activation import log_softmax
        >>> log_softmax(torch.tensor([0.0, 200.0]), dim=0)
        tensor([-200.,    0.])
    """
    check_float("log_softmax", "input", x)
    _check_dim("log_softmax", x, dim)
    if dtype is not None:
        x = x.to(dtype)
    m = x.amax(dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, 0.0)
    z = x - m
    # (x_i - m) - log sum_j exp(x_j - m)
    return z - torch.log(torch.exp(z).sum(dim, keepdim=True))


class ReLU(nn.Module):
    r"""Rectified linear unit, :math:`\operatorname{ReLU}(x) = \max(0, x)` elementwise.

    Args:
        inplace: if ``True``, do the operation in place on the input. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.ReLU()
        >>> m(torch.tensor([-2.0, 3.0]))
        tensor([0., 3.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        check_tensor(type(self).__name__, "input", input)
        return relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class GELU(nn.Module):
    r"""Gaussian error linear unit :math:`\operatorname{GELU}(x) = x\,\Phi(x)`, with
    :math:`\Phi` the standard normal CDF.

    Args:
        approximate: ``'none'`` (default) for the exact :math:`\Phi`; ``'tanh'`` for
            :math:`\tfrac12 x\,(1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715 x^3)))`.

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.GELU(approximate="tanh")
        >>> m(torch.randn(2, 3)).shape
        torch.Size([2, 3])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            name = type(self).__name__
            raise ValueError(
                f"{name}: expected approximate to be 'none' or 'tanh', got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        check_float(type(self).__name__, "input", input)
        return gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(nn.Module):
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1+e^{-x})` elementwise, stable for any
    :math:`x`.

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Sigmoid()
        >>> m(torch.tensor([0.0]))
        tensor([0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        check_float(type(self).__name__, "input", input)
        return sigmoid(input)


class Tanh(nn.Module):
    r"""Hyperbolic tangent :math:`\tanh(x) = (e^{x} - e^{-x})/(e^{x} + e^{-x})` elementwise,
    stable for any :math:`x`.

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Tanh()
        >>> m(torch.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
    """

    def forward(self, input: Tensor) -> Tensor:
        check_float(type(self).__name__, "input", input)
        return tanh(input)


class Softmax(nn.Module):
    r""":math:`\operatorname{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}` along ``dim``.

    Args:
        dim: the axis whose slices sum to 1. ``None`` picks torch's legacy implicit
            dimension (0 for 0-, 1- and 3-D inputs, else 1) and warns, as torch does.

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape; slices along ``dim`` sum to 1.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Softmax(dim=1)
        >>> m(torch.zeros(2, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500],
                [0.2500, 0.2500, 0.2500, 0.2500]])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_float(name, "input", input)
        dim = self.dim
        if dim is None:
            warnings.warn(
                "Implicit dimension choice for softmax has been deprecated. "
                "Change the call to include dim=X as an argument.",
                stacklevel=2,
            )
            dim = 0 if input.dim() in (0, 1, 3) else 1
        _check_dim(name, input, dim)
        return softmax(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
