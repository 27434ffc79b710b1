r"""Weight initializers, the twins of ``torch.nn.init``.

Every initializer draws with the tensor's own in-place RNG methods (``uniform_``,
``normal_``) in the same order and with the same bounds as torch, so for the same seed
(or ``generator``) the weights are bit-for-bit torch's.

The variance-preserving rules, for a weight of shape (fan_out, fan_in, *kernel):

.. math::
    \text{xavier:}\quad
    \operatorname{Var}[w] = \text{gain}^2 \frac{2}{\text{fan\_in} + \text{fan\_out}}
    \qquad
    \text{kaiming:}\quad \operatorname{Var}[w] = \frac{\text{gain}^2}{\text{fan\_mode}}

A uniform :math:`\mathcal{U}(-a, a)` has variance :math:`a^2/3`, so the uniform variants
use the bound :math:`a = \sqrt{3}\,\text{std}`.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    r"""The gain that keeps activations' variance after ``nonlinearity``.

    linear / conv / sigmoid: 1; tanh: 5/3; relu: :math:`\sqrt 2`;
    leaky_relu: :math:`\sqrt{2 / (1 + \text{slope}^2)}`; selu: 3/4.

    Args:
        nonlinearity: the function's name as in ``torch.nn.functional`` (``'relu'``, ...).
        param: the negative slope of ``'leaky_relu'`` (default 0.01); unused otherwise.

    Examples::

        >>> from scratch.init import calculate_gain
        >>> round(calculate_gain("leaky_relu", 0.2), 4)
        1.3868
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} not a valid number")
        # gain = sqrt(2 / (1 + slope^2))
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out as (out, in, *kernel)."""
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions, "
            f"got a {tensor.dim()}-D tensor of shape {tuple(tensor.shape)}"
        )
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    # fan_in = in * prod(kernel), fan_out = out * prod(kernel)
    fan_in = tensor.size(1) * receptive_field_size
    fan_out = tensor.size(0) * receptive_field_size
    return fan_in, fan_out


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(
    tensor: Tensor,
    a: float = 0.0,
    b: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Fill ``tensor`` in place with draws from :math:`\mathcal{U}(a, b)`.

    Args:
        tensor: the tensor to fill (any shape).
        a, b: the lower and upper bound of the interval.
        generator: the random stream to draw from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.init import uniform_
        >>> w = uniform_(torch.empty(1000), -2.0, 2.0)
        >>> bool(w.min() >= -2.0 and w.max() < 2.0)
        True
    """
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Fill ``tensor`` in place with draws from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Args:
        tensor: the tensor to fill (any shape).
        mean, std: the mean and the standard deviation of the normal distribution.
        generator: the random stream to draw from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.init import normal_
        >>> normal_(torch.empty(3, 5), std=0.02).shape
        torch.Size([3, 5])
    """
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` in place with the value ``val``.

    Examples::

        >>> import torch
        >>> from scratch.init import constant_
        >>> constant_(torch.empty(2, 2), 0.3)
        tensor([[0.3000, 0.3000],
                [0.3000, 0.3000]])
    """
    with torch.no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    r"""Fill ``tensor`` in place with 1 (a norm layer's :math:`\gamma` at init).

    Examples::

        >>> import torch
        >>> from scratch.init import ones_
        >>> ones_(torch.empty(3))
        tensor([1., 1., 1.])
    """
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    r"""Fill ``tensor`` in place with 0 (a norm layer's :math:`\beta` at init).

    Examples::

        >>> import torch
        >>> from scratch.init import zeros_
        >>> zeros_(torch.empty(3))
        tensor([0., 0., 0.])
    """
    with torch.no_grad():
        return tensor.zero_()


def xavier_uniform_(
    tensor: Tensor,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Glorot uniform: fill ``tensor`` from :math:`\mathcal{U}(-a, a)`,
    :math:`a = \text{gain}\sqrt{6/(\text{fan\_in}+\text{fan\_out})}`.

    Args:
        tensor: a weight of shape (fan_out, fan_in, *kernel), at least 2-D.
        gain: a scale for the nonlinearity that follows (see :func:`calculate_gain`).
        generator: the random stream to draw from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.init import calculate_gain, xavier_uniform_
        >>> w = xavier_uniform_(torch.empty(3, 5), gain=calculate_gain("relu"))
        >>> bool(w.abs().max() <= 2 ** 0.5 * (6 / 8) ** 0.5)
        True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    # std = gain * sqrt(2 / (fan_in + fan_out)); a = sqrt(3) * std
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(
    tensor: Tensor,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Glorot normal: fill ``tensor`` from :math:`\mathcal{N}(0, \text{std}^2)`,
    :math:`\text{std} = \text{gain}\sqrt{2/(\text{fan\_in}+\text{fan\_out})}`.

    Args:
        tensor: a weight of shape (fan_out, fan_in, *kernel), at least 2-D.
        gain: a scale for the nonlinearity that follows (see :func:`calculate_gain`).
        generator: the random stream to draw from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.init import xavier_normal_
        >>> xavier_normal_(torch.empty(3, 5)).shape
        torch.Size([3, 5])
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    # std = gain * sqrt(2 / (fan_in + fan_out))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""He uniform: fill ``tensor`` from :math:`\mathcal{U}(-b, b)`,
    :math:`b = \text{gain}\sqrt{3/\text{fan\_mode}}`.

    ``Linear`` and ``Conv`` use ``a = sqrt(5)``, giving :math:`b = 1/\sqrt{\text{fan\_in}}`.
    A tensor with no elements is left as is, with a warning.

    Args:
        tensor: a weight of shape (fan_out, fan_in, *kernel), at least 2-D.
        a: the negative slope of the leaky ReLU that follows (used only by
            ``'leaky_relu'``).
        mode: ``'fan_in'`` (default) keeps the variance of the forward pass,
            ``'fan_out'`` that of the backward pass.
        nonlinearity: the function that follows, for :func:`calculate_gain`.
        generator: the random stream to draw from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.init import kaiming_uniform_
        >>> kaiming_uniform_(torch.empty(3, 5), mode="fan_in", nonlinearity="relu").shape
        torch.Size([3, 5])
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    # std = gain / sqrt(fan); bound = sqrt(3) * std
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""He normal: fill ``tensor`` from :math:`\mathcal{N}(0, \text{std}^2)`,
    :math:`\text{std} = \text{gain}/\sqrt{\text{fan\_mode}}`.

    A tensor with no elements is left as is, with a warning.

    Args:
        tensor: a weight of shape (fan_out, fan_in, *kernel), at least 2-D.
        a: the negative slope of the leaky ReLU that follows (used only by
            ``'leaky_relu'``).
        mode: ``'fan_in'`` (default) keeps the variance of the forward pass,
            ``'fan_out'`` that of the backward pass.
        nonlinearity: the function that follows, for :func:`calculate_gain`.
        generator: the random stream to draw from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.init import kaiming_normal_
        >>> kaiming_normal_(torch.empty(3, 5), mode="fan_out", nonlinearity="relu").shape
        torch.Size([3, 5])
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    # std = gain / sqrt(fan)
    std = gain / math.sqrt(fan)
    return normal_(tensor, 0, std, generator)
