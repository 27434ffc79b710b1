r"""Convolution layers: every output is a dot product of the kernel with one input patch.

For an input :math:`x` of shape (N, C_in, H, W), already padded, a kernel :math:`W` of shape
(C_out, C_in / G, kH, kW), stride :math:`s` and dilation :math:`d`, group :math:`g` of
:math:`G` computes (cross-correlation, as torch and every framework do: no kernel flip)

.. math::
    y[n, o, h, w] = b[o] + \sum_{c, i, j} W[o, c, i, j]\;
    x[n, g \cdot C_{in}/G + c,\; h s_H + i d_H,\; w s_W + j d_W],
    \qquad g = \lfloor o / (C_{out}/G) \rfloor.

The implementation is *im2col*: cut every window out of the input (``Tensor.unfold``, a
view, no copy), lay each one out as a column, and do one matrix product per group:
``(C_out/G, C_in/G*kH*kW) @ (C_in/G*kH*kW, H_out*W_out)``. ``Conv1d`` is ``Conv2d`` on an
input of height 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import as_tuple, check_float, check_rank, check_size, same_dtype_device
from .init import _calculate_fan_in_and_fan_out, kaiming_uniform_, uniform_

__all__ = ["Conv1d", "Conv2d"]


def _windows2d(x: Tensor, kernel, stride, dilation) -> Tensor:
    """Every (dilated) kH x kW window of ``x`` (N, C, H, W), as a view.

    ``out[n, c, h, w, i, j] = x[n, c, h*sH + i*dH, w*sW + j*dW]``.
    """
    (kH, kW), (sH, sW), (dH, dW) = kernel, stride, dilation
    # a dilated window spans d*(k-1)+1 cells, of which it reads every d-th
    x = x.unfold(2, dH * (kH - 1) + 1, sH)  # (N, C, H_out, W, dH*(kH-1)+1)
    x = x.unfold(3, dW * (kW - 1) + 1, sW)  # (N, C, H_out, W_out, dH*(kH-1)+1, dW*(kW-1)+1)
    return x[..., ::dH, ::dW]  # (N, C, H_out, W_out, kH, kW)


def _conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride, dilation, groups: int):
    """Cross-correlate a padded (N, C_in, H, W) input with (C_out, C_in/G, kH, kW) weights."""
    N, C_in, _, _ = x.shape
    C_out, C_g, kH, kW = weight.shape  # C_g = C_in / G input channels per group
    G = groups
    patches = _windows2d(x, (kH, kW), stride, dilation)  # (N, C_in, H_out, W_out, kH, kW)
    H_out, W_out = patches.shape[2], patches.shape[3]
    grouped = (N, G, C_g, H_out, W_out, kH, kW)
    patches = patches.reshape(grouped)  # (N, G, C_in/G, H_out, W_out, kH, kW)
    # im2col: one column of C_in/G*kH*kW numbers per output position
    cols = patches.permute(0, 1, 2, 5, 6, 3, 4)  # (N, G, C_in/G, kH, kW, H_out, W_out)
    cols = cols.reshape(N, G, C_g * kH * kW, H_out * W_out)  # (N, G, C_in/G*kH*kW, L)
    w = weight.reshape(G, C_out // G, C_g * kH * kW)  # (G, C_out/G, C_in/G*kH*kW)
    # y[n, g] = W[g] @ cols[n, g]: each output is a kernel-patch dot product
    y = w @ cols  # (N, G, C_out/G, L)
    y = y.reshape(N, C_out, H_out, W_out)  # (N, C_out, H_out, W_out)
    if bias is not None:
        # y[n, o] += b[o]
        y = y + bias.reshape(1, C_out, 1, 1)  # (1, C_out, 1, 1) broadcast
    return y


def _check_conv_args(name, in_channels, out_channels, stride, padding, groups, padding_mode):
    """torch's constructor checks: groups divide the channels, a known padding and mode."""
    if groups <= 0:
        raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
    if in_channels % groups != 0:
        raise ValueError(
            f"{name}: in_channels must be divisible by groups, got {in_channels} and {groups}"
        )
    if out_channels % groups != 0:
        raise ValueError(
            f"{name}: out_channels must be divisible by groups, got {out_channels} and {groups}"
        )
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise ValueError(f"{name}: invalid padding string {padding!r}, should be 'same' or 'valid'")
    if padding == "same" and any(s != 1 for s in stride):
        raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
    if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(
            f"{name}: padding_mode must be one of 'zeros', 'reflect', "
            f"'replicate', 'circular', got {padding_mode!r}"
        )


def _reversed_padding(padding, kernel_size, dilation) -> list[int]:
    """The padding in F.pad's order: (left, right) of the last dim first, then the one before."""
    if padding == "same":
        # total d*(k-1) split as evenly as possible, the odd cell on the right/bottom
        totals = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
        return [p for t in reversed(totals) for p in (t // 2, t - t // 2)]
    if padding == "valid":
        return [0, 0] * len(kernel_size)
    return [p for p in reversed(padding) for _ in (0, 1)]


class _ConvNd(nn.Module):
    """What Conv1d and Conv2d share: arguments, parameters, init, padding, checks."""

    _dims = 2  # spatial dimensions
    _shape_hint = "(N, C_in, H, W) or (C_in, H, W)"

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode,
        device,
        dtype,
    ) -> None:
        super().__init__()
        n, name = self._dims, type(self).__name__
        kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        stride = as_tuple(stride, n, "stride", name)
        dilation = as_tuple(dilation, n, "dilation", name)
        if not isinstance(padding, str):
            padding = as_tuple(padding, n, "padding", name)
        _check_conv_args(name, in_channels, out_channels, stride, padding, groups, padding_mode)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.transposed, self.output_padding = False, (0,) * n  # torch's _ConvNd has them too
        self._reversed_padding_repeated_twice = _reversed_padding(padding, kernel_size, dilation)
        factory_kwargs = {"device": device, "dtype": dtype}
        weight_shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = nn.Parameter(torch.empty(weight_shape, **factory_kwargs))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's init: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); fan_in = C_in/G*kH*kW."""
        with torch.no_grad():
            # kaiming_uniform, a = sqrt(5): bound = sqrt(6 / ((1 + a^2) fan_in)) = 1/sqrt(fan_in)
            kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                fan_in, _ = _calculate_fan_in_and_fan_out(self.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                uniform_(self.bias, -bound, bound)

    def _prepare(self, input: Tensor) -> tuple[Tensor, bool]:
        """Check the input, add a batch dim if missing, pad it; return (x, batched)."""
        name, n = type(self).__name__, self._dims
        x = check_float(name, "input", input)
        check_rank(name, "input", x, (n + 1, n + 2), self._shape_hint)
        batched = x.dim() == n + 2
        x = x if batched else x.unsqueeze(0)  # (N, C_in, *spatial)
        check_size(name, "input channels", x.shape[1], self.in_channels)
        same_dtype_device(name, x, self.weight)
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        x = F.pad(x, self._reversed_padding_repeated_twice, mode=mode)  # (N, C_in, *padded)
        # a dilated kernel spans d*(k-1)+1 cells and must fit inside the padded input
        span = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))
        if any(size < k for size, k in zip(x.shape[2:], span)):
            raise ValueError(
                f"{name}: kernel size {span} (dilated) is larger than the padded input "
                f"size {tuple(x.shape[2:])}"
            )
        return x, batched

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class Conv2d(_ConvNd):
    r"""2-D convolution (cross-correlation) over an (N, C_in, H, W) input.

    .. math::
        y[n, o, h, w] = b[o] + \sum_{c=0}^{C_{in}/G-1} \sum_{i=0}^{k_H-1} \sum_{j=0}^{k_W-1}
        W[o, c, i, j]\; \tilde x[n, g\,C_{in}/G + c,\; h s_H + i d_H,\; w s_W + j d_W]

    where :math:`\tilde x` is the input padded (``padding_mode``: zeros, reflect, replicate
    or circular) and :math:`g = \lfloor o\,G / C_{out} \rfloor` is the group of output
    channel :math:`o`. ``padding='same'`` pads :math:`d(k-1)` cells per dim, the odd one on
    the bottom/right; it needs ``stride=1``. Weights and bias start at
    :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`,
    :math:`\text{fan\_in} = C_{in}/G \cdot k_H k_W`.

    Args:
        in_channels: number of channels of the input.
        out_channels: number of channels the convolution produces (one kernel each).
        kernel_size: size of the kernel, an int or a tuple with one int per spatial dim.
        stride: step of the window over the input. Default: 1.
        padding: cells added on both sides of each spatial dim (an int or a tuple), or
            ``'valid'`` (none) or ``'same'`` (output as large as the input; ``stride=1``
            only). Default: 0.
        dilation: spacing between kernel elements. Default: 1.
        groups: number of groups :math:`G` the channels are split into; group :math:`g`
            of the output sees only group :math:`g` of the input. Default: 1.
        bias: if ``True``, add a learnable bias per output channel. Default: ``True``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``: what
            the padded cells hold. Default: ``'zeros'``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)` or :math:`(C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H + p_{top} + p_{bottom} - d_H (k_H - 1) - 1) / s_H
          \rfloor + 1`, likewise :math:`W_{out}`.
        - weight: :math:`(C_{out}, C_{in}/G, k_H, k_W)`, bias: :math:`(C_{out})`

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Conv2d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50, 100)).shape
        torch.Size([20, 33, 24, 49])
        >>> m = scratch.Conv2d(16, 33, (3, 5), padding="same", dilation=(3, 1))
        >>> m(torch.randn(1, 16, 10, 20)).shape
        torch.Size([1, 33, 10, 20])
    """

    _dims = 2
    _shape_hint = "(N, C_in, H, W) or (C_in, H, W)"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        x, batched = self._prepare(input)  # (N, C_in, H + p_top + p_bot, W + p_left + p_right)
        y = _conv2d(x, self.weight, self.bias, self.stride, self.dilation, self.groups)
        return y if batched else y.squeeze(0)  # (N, C_out, H_out, W_out) or (C_out, H_out, W_out)


class Conv1d(_ConvNd):
    r"""1-D convolution (cross-correlation) over an (N, C_in, L) input.

    .. math::
        y[n, o, t] = b[o] + \sum_{c=0}^{C_{in}/G-1} \sum_{i=0}^{k-1}
        W[o, c, i]\; \tilde x[n, g\,C_{in}/G + c,\; t s + i d]

    with :math:`\tilde x` the padded input and :math:`g = \lfloor o\,G / C_{out} \rfloor`.
    Computed as :class:`Conv2d` on an input of height 1 and a kernel of height 1. Padding,
    groups and initialization as in :class:`Conv2d`, with
    :math:`\text{fan\_in} = C_{in}/G \cdot k`.

    Args:
        in_channels: number of channels of the input.
        out_channels: number of channels the convolution produces (one kernel each).
        kernel_size: size of the kernel, an int or a tuple with one int per spatial dim.
        stride: step of the window over the input. Default: 1.
        padding: cells added on both sides of each spatial dim (an int or a tuple), or
            ``'valid'`` (none) or ``'same'`` (output as large as the input; ``stride=1``
            only). Default: 0.
        dilation: spacing between kernel elements. Default: 1.
        groups: number of groups :math:`G` the channels are split into; group :math:`g`
            of the output sees only group :math:`g` of the input. Default: 1.
        bias: if ``True``, add a learnable bias per output channel. Default: ``True``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``: what
            the padded cells hold. Default: ``'zeros'``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - Input: :math:`(N, C_{in}, L)` or :math:`(C_{in}, L)`
        - Output: :math:`(N, C_{out}, L_{out})` or :math:`(C_{out}, L_{out})`,
          :math:`L_{out} = \lfloor (L + p_{left} + p_{right} - d (k - 1) - 1) / s \rfloor + 1`
        - weight: :math:`(C_{out}, C_{in}/G, k)`, bias: :math:`(C_{out})`

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Conv1d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50)).shape
        torch.Size([20, 33, 24])
    """

    _dims = 1
    _shape_hint = "(N, C_in, L) or (C_in, L)"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: str | int | tuple[int] = 0,
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        x, batched = self._prepare(input)  # (N, C_in, L + p_left + p_right)
        x = x.unsqueeze(2)  # (N, C_in, 1, L_padded): a 1-D signal is an image of height 1
        w = self.weight.unsqueeze(2)  # (C_out, C_in/G, 1, k)
        y = _conv2d(x, w, self.bias, (1, *self.stride), (1, *self.dilation), self.groups)
        y = y.squeeze(2)  # (N, C_out, L_out)
        return y if batched else y.squeeze(0)  # (N, C_out, L_out) or (C_out, L_out)
