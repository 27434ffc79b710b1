r"""The affine layer and the reshape that feeds it.

``Linear`` is :math:`y = x W^\top + b`, one matrix product over the last axis; every
other axis is a batch axis. ``Flatten`` merges a run of axes into one (a view when the
memory allows), e.g. (N, C, H, W) -> (N, C*H*W) before a classifier head.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import check_float, check_size, check_tensor, same_dtype_device
from .init import _calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_

__all__ = ["Flatten", "Linear", "linear"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Apply the affine map :math:`y = x W^\top + b` to the last axis of ``input``.

    Every other axis is a batch axis. This is the one affine map of the library:
    ``Linear``, the recurrent layers' gate projections and attention's in-projections all
    call it. No checks: the calling layer validates its input.

    Args:
        input: the tensor to map, of shape :math:`(*, H_{in})`.
        weight: the matrix :math:`W`, of shape :math:`(H_{out}, H_{in})`.
        bias: the vector :math:`b`, of shape :math:`(H_{out})`, or ``None`` for no bias.

    Shape:
        - Input: :math:`(*, H_{in})`.
        - Output: :math:`(*, H_{out})`.

    Examples::

        >>> import torch
        >>> from scratch.linear import linear
        >>> linear(torch.ones(2, 3), torch.ones(4, 3), torch.zeros(4))
        tensor([[3., 3., 3., 3.],
                [3., 3., 3., 3.]])
    """
    y = input @ weight.T  # (*, in) @ (in, out) -> (*, out)
    if bias is not None:
        y = y + bias  # broadcast over the batch axes
    return y


class Linear(nn.Module):
    r"""Affine map of the last axis: :math:`y = x W^\top + b`.

    :math:`W` has shape (out_features, in_features); initialization is torch's:
    :math:`W, b \sim \mathcal{U}(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})` (``kaiming_uniform_``
    with :math:`a = \sqrt5`, then ``uniform_`` for the bias), drawn in that order.

    Args:
        in_features: size of each input sample (the last axis of the input).
        out_features: size of each output sample.
        bias: if ``False``, the layer learns no additive bias :math:`b`. Default: ``True``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - Input: :math:`(*, H_{in})`, :math:`H_{in}` = in_features, at least 1-D.
        - Output: :math:`(*, H_{out})`, :math:`H_{out}` = out_features.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Linear(20, 30)
        >>> m(torch.randn(128, 20)).shape
        torch.Size([128, 30])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        factory_kwargs = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty((out_features, in_features), **factory_kwargs))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # W ~ U(-b, b), b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + 5)) -> b = 1/sqrt(fan_in)
        kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = _calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_float(name, "input", input)
        if input.dim() == 0:
            raise ValueError(
                f"{name}: expected input of shape (*, {self.in_features}) (at least 1-D), "
                "got a 0-D tensor"
            )
        check_size(name, "input.shape[-1] (in_features)", input.shape[-1], self.in_features)
        same_dtype_device(name, input, self.weight)
        # y = x W^T + b: (*, in) -> (*, out)
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Flatten(nn.Module):
    r"""Merge axes ``start_dim`` .. ``end_dim`` (inclusive) into one of size
    :math:`\prod_{i=start}^{end} S_i`: a view when the memory allows, else a copy.

    Args:
        start_dim: first axis to merge (negative counts from the end). Default: 1, so the
            batch axis is kept.
        end_dim: last axis to merge, inclusive. Default: -1.

    Shape:
        - Input: :math:`(*, S_{start}, \dots, S_{end}, *)`.
        - Output: :math:`(*, \prod_{i=start}^{end} S_i, *)`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Flatten()
        >>> m(torch.randn(32, 1, 5, 5)).shape
        torch.Size([32, 25])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_tensor(name, "input", input)
        shape = tuple(input.shape)
        n = max(len(shape), 1)  # a 0-D tensor flattens like a 1-element 1-D one
        start = self.start_dim + n if self.start_dim < 0 else self.start_dim
        end = self.end_dim + n if self.end_dim < 0 else self.end_dim
        if not (0 <= start < n and 0 <= end < n):
            raise ValueError(
                f"{name}: expected start_dim and end_dim in [{-n}, {n - 1}] for a "
                f"{input.dim()}-D input of shape {shape}, got start_dim={self.start_dim}, "
                f"end_dim={self.end_dim}"
            )
        if start > end:
            raise ValueError(
                f"{name}: expected start_dim <= end_dim, got start_dim={self.start_dim} "
                f"(axis {start}) after end_dim={self.end_dim} (axis {end})"
            )
        if input.dim() == 0:
            return input.reshape(1)  # (1,)
        merged = math.prod(shape[start : end + 1])
        # (*, S_start, ..., S_end, *) -> (*, S_start * ... * S_end, *)
        return input.reshape(shape[:start] + (merged,) + shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
