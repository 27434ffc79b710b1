r"""Pooling layers: summarise each window of the input by its maximum or its mean.

Fixed-window pooling (``MaxPool``, ``AvgPool``) slides a kH x kW window with stride s over
the padded input, exactly as a convolution does (the same ``_windows2d`` view), and
reduces it: no parameters, one output per (sample, channel, window). Adaptive pooling
fixes the *output* size instead and lets the windows vary:

.. math::
    \text{window } i = [\lfloor i \cdot H_{in} / H_{out} \rfloor,\;
                        \lceil (i + 1) \cdot H_{in} / H_{out} \rceil)

The 1-D layers are the 2-D ones on an input of height 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import as_tuple, check_float, check_rank
from .conv import _windows2d

__all__ = [
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "MaxPool1d",
    "MaxPool2d",
]


# ------------------------------------------------------------------------------ helpers
def _as_batched_2d(layer: str, input: Tensor, dims: int) -> tuple[Tensor, bool]:
    """Check rank and dtype; return the input as (N, C, H, W) and whether it had a batch dim."""
    hint = "(N, C, L) or (C, L)" if dims == 1 else "(N, C, H, W) or (C, H, W)"
    x = check_float(layer, "input", input)
    check_rank(layer, "input", x, (dims + 1, dims + 2), hint)
    batched = x.dim() == dims + 2
    x = x if batched else x.unsqueeze(0)  # (N, C, *spatial)
    return (x.unsqueeze(2) if dims == 1 else x), batched  # (N, C, H, W); H = 1 for 1-D


def _unbatch(y: Tensor, batched: bool, dims: int) -> Tensor:
    y = y.squeeze(2) if dims == 1 else y  # (N, C, L_out) for 1-D
    return y if batched else y.squeeze(0)  # drop the batch dim we added


def _window_args(module: nn.Module, names) -> list[tuple[int, ...]]:
    """The module's window arguments as tuples of its dims (torch takes an int or a tuple)."""
    layer = type(module).__name__
    return [as_tuple(getattr(module, a), module._dims, a, layer) for a in names]


def _pool_geometry(layer, size, kernel, stride, padding, dilation, ceil_mode):
    """Output sizes and (left, right) paddings per dim; torch's checks and ceil_mode rule."""
    outs, pads = [], []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        if k <= 0 or s <= 0 or d <= 0:
            raise ValueError(
                f"{layer}: kernel_size, stride and dilation must be positive, "
                f"got {kernel}, {stride}, {dilation}"
            )
        if p < 0 or p > k // 2:
            raise ValueError(
                f"{layer}: padding must be between 0 and half the kernel size "
                f"(kernel_size // 2), got padding={p} for kernel_size={k}"
            )
        # out = floor((n + 2p - d(k-1) - 1 [+ s - 1 in ceil_mode]) / s) + 1
        out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        # ceil_mode: the last window must start inside the input or the left padding
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        if out < 1:
            raise ValueError(
                f"{layer}: output size {out} is too small (< 1) for input size "
                f"{tuple(size)}, kernel_size={kernel}, padding={padding}"
            )
        # right padding: p, plus what the last (ceil_mode) window hangs over the end
        pads.append((p, max(p, (out - 1) * s + d * (k - 1) + 1 - n - p)))
        outs.append(out)
    return outs, pads


def _f_pad(pads) -> list[int]:
    """[(top, bottom), (left, right)] -> F.pad's (left, right, top, bottom)."""
    return [q for pair in reversed(pads) for q in pair]


# ----------------------------------------------------------------------------- max pool
def _max_pool2d(layer, x, kernel, stride, padding, dilation, ceil_mode):
    """Max over each window of x (N, C, H, W); also the flat index h*W + w of the maximum."""
    N, C, H, W = x.shape
    (H_out, W_out), pads = _pool_geometry(
        layer, (H, W), kernel, stride, padding, dilation, ceil_mode
    )
    # pad with -inf: padding never wins the max
    x = F.pad(x, _f_pad(pads), value=-math.inf)  # (N, C, H_pad, W_pad)
    win = _windows2d(x, kernel, stride, dilation)  # (N, C, H_out, W_out, kH, kW)
    win = win.reshape(N, C, H_out, W_out, -1)  # (N, C, H_out, W_out, kH*kW)
    # the first maximum of the window, scanning row by row (torch's choice on ties)
    arg = win.argmax(dim=-1, keepdim=True)  # (N, C, H_out, W_out, 1)
    # y = max over the window; the gradient flows to that one input cell
    y = win.gather(-1, arg).squeeze(-1)  # (N, C, H_out, W_out)
    # where each window cell came from: h*W + w (padding: -1)
    where = torch.arange(H * W, device=x.device).reshape(1, 1, H, W)  # (1, 1, H, W)
    where = F.pad(where, _f_pad(pads), value=-1)  # (1, 1, H_pad, W_pad)
    where = _windows2d(where, kernel, stride, dilation)  # (1, 1, H_out, W_out, kH, kW)
    where = where.reshape(1, 1, H_out, W_out, -1)  # (1, 1, H_out, W_out, kH*kW)
    indices = where.expand(N, C, -1, -1, -1).gather(-1, arg).squeeze(-1)  # (N, C, H_out, W_out)
    return y, indices


class _MaxPoolNd(nn.Module):
    _dims = 2

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        name, n = type(self).__name__, self._dims
        x, batched = _as_batched_2d(name, input, n)  # (N, C, H, W)
        k, s, p, d = _window_args(self, ("kernel_size", "stride", "padding", "dilation"))
        if n == 1:  # a window of height 1, no padding or stride along the height
            k, s, p, d = (1, *k), (1, *s), (0, *p), (1, *d)
        y, indices = _max_pool2d(name, x, k, s, p, d, self.ceil_mode)
        y, indices = _unbatch(y, batched, n), _unbatch(indices, batched, n)
        return (y, indices) if self.return_indices else y

    def extra_repr(self) -> str:
        return (
            "kernel_size={kernel_size}, stride={stride}, padding={padding}, "
            "dilation={dilation}, ceil_mode={ceil_mode}"
        ).format(**self.__dict__)


class MaxPool2d(_MaxPoolNd):
    r"""2-D max pooling: the largest value of each (dilated) window.

    .. math::
        y[n, c, h, w] = \max_{i < k_H,\, j < k_W}\;
        \tilde x[n, c,\; h s_H + i d_H,\; w s_W + j d_W]

    with :math:`\tilde x` the input padded with :math:`-\infty` (``padding`` at most
    ``kernel_size // 2``). ``stride`` defaults to ``kernel_size``. With
    ``return_indices=True`` it also returns, for each output, the flat index
    :math:`h \cdot W + w` of its maximum in the (unpadded) input plane; ties go to the
    first maximum in row-major order. The gradient flows only to that maximum.

    Args:
        kernel_size: size of the window, an int or one int per spatial dim.
        stride: step of the window. Default: ``kernel_size``.
        padding: :math:`-\infty` cells added on both sides, at most ``kernel_size // 2``.
            Default: 0.
        dilation: spacing between the cells a window reads. Default: 1.
        return_indices: if ``True``, also return where each maximum came from (the
            ``indices`` ``MaxUnpool`` takes). Default: ``False``.
        ceil_mode: if ``True``, round the output size up instead of down, so a last
            partial window is kept. Default: ``False``.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`
        - Output (and indices): :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H + 2p_H - d_H (k_H - 1) - 1) / s_H \rfloor + 1`
          (:math:`\lceil\cdot\rceil` with ``ceil_mode``, dropping a last window that
          would start in the right padding); likewise :math:`W_{out}`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.MaxPool2d((3, 2), stride=(2, 1))
        >>> m(torch.randn(20, 16, 50, 32)).shape
        torch.Size([20, 16, 24, 31])
    """

    _dims = 2


class MaxPool1d(_MaxPoolNd):
    r"""1-D max pooling: :class:`MaxPool2d` on an input of height 1.

    .. math::
        y[n, c, t] = \max_{i < k}\; \tilde x[n, c,\; t s + i d]

    Indices (``return_indices=True``) are positions in :math:`[0, L)`.

    Args:
        kernel_size: size of the window, an int or one int per spatial dim.
        stride: step of the window. Default: ``kernel_size``.
        padding: :math:`-\infty` cells added on both sides, at most ``kernel_size // 2``.
            Default: 0.
        dilation: spacing between the cells a window reads. Default: 1.
        return_indices: if ``True``, also return where each maximum came from (the
            ``indices`` ``MaxUnpool`` takes). Default: ``False``.
        ceil_mode: if ``True``, round the output size up instead of down, so a last
            partial window is kept. Default: ``False``.

    Shape:
        - Input: :math:`(N, C, L)` or :math:`(C, L)`
        - Output (and indices): :math:`(N, C, L_{out})` or :math:`(C, L_{out})`,
          :math:`L_{out} = \lfloor (L + 2p - d (k - 1) - 1) / s \rfloor + 1`
          (:math:`\lceil\cdot\rceil` with ``ceil_mode``, see :class:`MaxPool2d`).

    Examples::

        >>> import torch, scratch
        >>> m = scratch.MaxPool1d(3, stride=2)
        >>> m(torch.randn(20, 16, 50)).shape
        torch.Size([20, 16, 24])
    """

    _dims = 1


# ----------------------------------------------------------------------------- avg pool
def _avg_pool2d(layer, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Mean of each window of x (N, C, H, W), with torch's choice of divisor."""
    N, C, H, W = x.shape
    (H_out, W_out), pads = _pool_geometry(layer, (H, W), kernel, stride, padding, (1, 1), ceil_mode)
    # sum over the window; zero padding adds nothing
    x = F.pad(x, _f_pad(pads))  # (N, C, H_pad, W_pad)
    sums = _windows2d(x, kernel, stride, (1, 1)).sum(dim=(-2, -1))  # (N, C, H_out, W_out)
    if divisor_override:
        return sums / divisor_override
    # divisor = number of cells the window counts: input cells, plus the padding cells if
    # count_include_pad, never the cells past the right padding that ceil_mode adds
    (pt, pb), (pl, pr) = pads
    counted = torch.ones(1, 1, H, W, dtype=x.dtype, device=x.device)  # (1, 1, H, W)
    pad_value = 1.0 if count_include_pad else 0.0
    counted = F.pad(counted, (pl, pl, pt, pt), value=pad_value)  # (1, 1, H + 2pt, W + 2pl)
    counted = F.pad(counted, (0, pr - pl, 0, pb - pt))  # (1, 1, H_pad, W_pad)
    divisor = _windows2d(counted, kernel, stride, (1, 1)).sum(dim=(-2, -1))  # (1, 1, H_out, W_out)
    # y = sum / divisor
    return sums / divisor


class _AvgPoolNd(nn.Module):
    _dims = 2
    divisor_override: int | None = None

    def forward(self, input: Tensor) -> Tensor:
        name, n = type(self).__name__, self._dims
        if self.divisor_override is not None and self.divisor_override == 0:
            raise ValueError(f"{name}: divisor_override must not be zero")
        x, batched = _as_batched_2d(name, input, n)  # (N, C, H, W)
        k, s, p = _window_args(self, ("kernel_size", "stride", "padding"))
        if n == 1:  # a window of height 1, no padding or stride along the height
            k, s, p = (1, *k), (1, *s), (0, *p)
        y = _avg_pool2d(
            name, x, k, s, p, self.ceil_mode, self.count_include_pad, self.divisor_override
        )
        return _unbatch(y, batched, n)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    r"""2-D average pooling: the mean of each window.

    .. math::
        y[n, c, h, w] = \frac{1}{D_{hw}} \sum_{i < k_H,\, j < k_W}
        \tilde x[n, c,\; h s_H + i,\; w s_W + j]

    with :math:`\tilde x` the zero-padded input (``padding`` at most ``kernel_size // 2``)
    and divisor :math:`D_{hw}` = ``divisor_override`` if given, else the number of window
    cells inside the padded input (``count_include_pad=True``) or inside the input
    (``False``). Cells a ``ceil_mode`` window hangs past the padding never count.

    Args:
        kernel_size: size of the window, an int or one int per spatial dim.
        stride: step of the window. Default: ``kernel_size``.
        padding: zero cells added on both sides, at most ``kernel_size // 2``. Default: 0.
        ceil_mode: if ``True``, round the output size up instead of down, so a last
            partial window is kept. Default: ``False``.
        count_include_pad: if ``True``, the padding cells count in the divisor.
            Default: ``True``.
        divisor_override: if given, the divisor of every window. Default: ``None``.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H + 2p_H - k_H) / s_H \rfloor + 1`
          (:math:`\lceil\cdot\rceil` with ``ceil_mode``, dropping a last window that
          would start in the right padding); likewise :math:`W_{out}`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.AvgPool2d((3, 2), stride=(2, 1))
        >>> m(torch.randn(20, 16, 50, 32)).shape
        torch.Size([20, 16, 24, 31])
    """

    _dims = 2

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override


class AvgPool1d(_AvgPoolNd):
    r"""1-D average pooling: :class:`AvgPool2d` on an input of height 1.

    .. math::
        y[n, c, t] = \frac{1}{D_t} \sum_{i < k} \tilde x[n, c,\; t s + i]

    Args:
        kernel_size: size of the window, an int or one int per spatial dim.
        stride: step of the window. Default: ``kernel_size``.
        padding: zero cells added on both sides, at most ``kernel_size // 2``. Default: 0.
        ceil_mode: if ``True``, round the output size up instead of down, so a last
            partial window is kept. Default: ``False``.
        count_include_pad: if ``True``, the padding cells count in the divisor.
            Default: ``True``.

    Shape:
        - Input: :math:`(N, C, L)` or :math:`(C, L)`
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`,
          :math:`L_{out} = \lfloor (L + 2p - k) / s \rfloor + 1`
          (:math:`\lceil\cdot\rceil` with ``ceil_mode``, see :class:`AvgPool2d`).

    Examples::

        >>> import torch, scratch
        >>> m = scratch.AvgPool1d(3, stride=2)
        >>> m(torch.tensor([[[1.0, 2, 3, 4, 5, 6, 7]]]))
        tensor([[[2., 4., 6.]]])
    """

    _dims = 1

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        # torch stores the 1-D arguments as 1-tuples
        self.kernel_size = as_tuple(kernel_size, 1, "kernel_size", name)
        stride = stride if stride is not None else kernel_size
        self.stride = as_tuple(stride, 1, "stride", name)
        self.padding = as_tuple(padding, 1, "padding", name)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad


# ------------------------------------------------------------------------ adaptive pool
def _adaptive_windows(size_in: int, size_out: int, device) -> tuple[Tensor, Tensor]:
    """Input positions of each adaptive window, padded to the widest by repeating its last.

    Returns ``(index, valid)``, both (size_out, k_max): window ``i`` reads ``index[i]``;
    ``valid`` marks the positions that are not repeats.
    """
    i = torch.arange(size_out, device=device)
    # start_i = floor(i * in / out)
    start = (i * size_in) // size_out
    # end_i = ceil((i + 1) * in / out)
    end = ((i + 1) * size_in + size_out - 1) // size_out
    k_max = int((end - start).max()) if size_out > 0 else 1
    index = start[:, None] + torch.arange(k_max, device=device)  # (out, k_max)
    valid = index < end[:, None]  # (out, k_max)
    return torch.minimum(index, end[:, None] - 1), valid


def _adaptive_gather(layer: str, x: Tensor, output_size):
    """Windows of x (N, C, H, W): (windows, flat input index, valid).

    Each has shape (.., H_out, W_out, kH*kW): the windows (N, C, ...), the rest (...).
    """
    N, C, H, W = x.shape
    if H == 0 or W == 0:
        raise ValueError(
            f"{layer}: expected an input of non-zero height and width, got {tuple(x.shape)}"
        )
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2:
        raise ValueError(
            f"{layer}: expected output_size to be an int or 2 ints/None, got {output_size}"
        )
    # None keeps that input dim's size
    H_out, W_out = (n if o is None else o for o, n in zip(size, (H, W)))
    if H_out < 0 or W_out < 0:
        raise ValueError(f"{layer}: output_size must be non-negative, got {output_size}")
    ih, vh = _adaptive_windows(H, H_out, x.device)  # (H_out, kH)
    iw, vw = _adaptive_windows(W, W_out, x.device)  # (W_out, kW)
    rows, cols = ih[:, None, :, None], iw[None, :, None, :]  # (H_out, 1, kH, 1), (1, W_out, 1, kW)
    # win[n, c, i, j, a, b] = x[n, c, ih[i, a], iw[j, b]]
    win = x[:, :, rows, cols]  # (N, C, H_out, W_out, kH, kW)
    kk = ih.shape[1] * iw.shape[1]
    win = win.reshape(N, C, H_out, W_out, kk)  # (N, C, H_out, W_out, kH*kW)
    flat = (rows * W + cols).reshape(H_out, W_out, kk)  # (H_out, W_out, kH*kW): h*W + w
    valid = vh[:, None, :, None] & vw[None, :, None, :]  # (H_out, W_out, kH, kW)
    valid = valid.reshape(H_out, W_out, kk)  # (H_out, W_out, kH*kW)
    return win, flat, valid


class AdaptiveAvgPool2d(nn.Module):
    r"""2-D adaptive average pooling: a fixed output size, windows sized to fit.

    .. math::
        y[n, c, i, j] = \frac{1}{|R_i| |C_j|} \sum_{h \in R_i} \sum_{w \in C_j} x[n, c, h, w],
        \quad R_i = [\lfloor i H / H_{out} \rfloor, \lceil (i + 1) H / H_{out} \rceil)

    and :math:`C_j` likewise along the width. Neighbouring windows overlap when the size
    does not divide evenly. ``AdaptiveAvgPool2d(1)`` is global average pooling.

    Args:
        output_size: the target size :math:`(H_{out}, W_{out})`: an int for a square, or a
            pair whose ``None`` entries keep the input's size.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`(H_{out}, W_{out})` = ``output_size``.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.AdaptiveAvgPool2d((5, None))
        >>> m(torch.randn(1, 64, 8, 9)).shape
        torch.Size([1, 64, 5, 9])
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        x, batched = _as_batched_2d(name, input, 2)  # (N, C, H, W)
        win, _, valid = _adaptive_gather(name, x, self.output_size)
        # mean over the window's valid (non-repeated) cells
        y = (win * valid).sum(-1) / valid.sum(-1)  # (N, C, H_out, W_out)
        return _unbatch(y, batched, 2)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(nn.Module):
    r"""2-D adaptive max pooling: a fixed output size, windows sized to fit.

    .. math::
        y[n, c, i, j] = \max_{h \in R_i,\, w \in C_j} x[n, c, h, w],
        \quad R_i = [\lfloor i H / H_{out} \rfloor, \lceil (i + 1) H / H_{out} \rceil)

    and :math:`C_j` likewise.

    Args:
        output_size: the target size :math:`(H_{out}, W_{out})`: an int for a square, or a
            pair whose ``None`` entries keep the input's size.
        return_indices: if ``True``, also return the flat index :math:`h \cdot W + w` of
            each maximum (the first, row-major, on ties). Default: ``False``.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`
        - Output (and indices): :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`(H_{out}, W_{out})` = ``output_size`` (``None`` keeps the input's size).

    Examples::

        >>> import torch, scratch
        >>> m = scratch.AdaptiveMaxPool2d(7)
        >>> m(torch.randn(1, 64, 10, 9)).shape
        torch.Size([1, 64, 7, 7])
    """

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        name = type(self).__name__
        x, batched = _as_batched_2d(name, input, 2)  # (N, C, H, W)
        win, flat, _ = _adaptive_gather(name, x, self.output_size)
        # repeats come after the cell they repeat, so the first maximum is a real cell
        arg = win.argmax(dim=-1, keepdim=True)  # (N, C, H_out, W_out, 1)
        y = win.gather(-1, arg).squeeze(-1)  # (N, C, H_out, W_out)
        indices = flat.expand_as(win).gather(-1, arg).squeeze(-1)  # (N, C, H_out, W_out)
        y, indices = _unbatch(y, batched, 2), _unbatch(indices, batched, 2)
        return (y, indices) if self.return_indices else y

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
