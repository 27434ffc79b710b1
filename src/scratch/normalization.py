"""Normalization layers: one formula, four choices of axes.

Every layer here computes

    y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

with the biased variance. They differ only in *which axes* the mean and variance are
taken over, for an input of shape (N, C, H, W):

    layer         statistics over             one (mean, var) pair per
    ------------  --------------------------  ---------------------------------------
    BatchNorm     (N, H, W)                   channel, shared by the whole batch
    LayerNorm     trailing normalized_shape   sample, e.g. over (C, H, W) or last dim
    GroupNorm     (C / G, H, W) of a group    (sample, group of C / G channels)
    InstanceNorm  (H, W)                      (sample, channel)

BatchNorm (and InstanceNorm with ``track_running_stats=True``) also keeps running
averages of its statistics to use in eval mode.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._checks import check_float, check_rank, check_size, same_dtype_device

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm2d", "LayerNorm"]


def _standardize(x: Tensor, dims: Sequence[int], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Return ``(x_hat, mean, var)`` with statistics over ``dims`` (kept as size-1 dims)."""
    # E[x] over dims
    mean = x.mean(dim=tuple(dims), keepdim=True)
    # Var[x] = E[(x - E[x])^2]  (biased: divide by n, not n - 1)
    var = ((x - mean) ** 2).mean(dim=tuple(dims), keepdim=True)
    # x_hat = (x - E[x]) / sqrt(Var[x] + eps)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return x_hat, mean, var


def _upcast(layer: str, x: Tensor, ref: Tensor | None) -> Tensor:
    """Check the input's dtype against the weight (or running statistics), as torch does.

    They must match, except that a float16/bfloat16 input is computed in float32 (with
    float32 weights, or none) and cast back by the caller.
    """
    low = x.dtype in (torch.float16, torch.bfloat16)
    if low and (ref is None or ref.dtype == torch.float32):
        return x.float()
    if ref is not None:
        same_dtype_device(layer, x, ref)  # raises a TypeError on a mismatch
    return x


def _scale_shift(x_hat: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """y = x_hat * gamma + beta; either may be absent (``None``)."""
    if weight is not None:
        x_hat = x_hat * weight
    if bias is not None:
        x_hat = x_hat + bias
    return x_hat


def _ones_zeros_(weight: Tensor | None, bias: Tensor | None) -> None:
    """gamma <- 1, beta <- 0 (torch's init.ones_ / init.zeros_)."""
    with torch.no_grad():
        if weight is not None:
            weight.fill_(1.0)
        if bias is not None:
            bias.zero_()


# --------------------------------------------------------------------------- LayerNorm
class LayerNorm(nn.Module):
    r"""Layer normalization (Ba et al., 2016): each sample normalised by its own statistics.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    The mean and (biased) variance are taken over the last ``D = len(normalized_shape)``
    dimensions: one pair per sample (per token, for a sequence), never across the batch,
    so train and eval compute the same thing. ``gamma`` and ``beta`` have shape
    ``normalized_shape`` (per *element*, not per channel) and start at 1 and 0.

    Args:
        normalized_shape: the trailing dims to normalize over: an int for the last dim
            alone, or a shape such as ``(C, H, W)``.
        eps: added to the variance for numerical stability. Default: 1e-5.
        elementwise_affine: if ``True``, learn :math:`\gamma` and :math:`\beta`.
            Default: ``True``.
        bias: if ``False`` (and ``elementwise_affine``), learn :math:`\gamma` only.
            Default: ``True``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - Input: :math:`(*, \text{normalized\_shape}[0], \ldots, \text{normalized\_shape}[-1])`
        - Output: same shape as the input

    Examples::

        >>> import torch, scratch
        >>> m = scratch.LayerNorm(10)
        >>> y = m(torch.randn(20, 5, 10))
        >>> y.shape, round(y.mean(-1).abs().max().item(), 4)
        (torch.Size([20, 5, 10]), 0.0)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int] | torch.Size,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        factory_kwargs = {"device": device, "dtype": dtype}
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(torch.empty(self.normalized_shape, **factory_kwargs))
            if bias:
                self.bias = nn.Parameter(torch.empty(self.normalized_shape, **factory_kwargs))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _ones_zeros_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_float(name, "input", input)
        d = len(self.normalized_shape)
        if input.dim() < d or tuple(input.shape[input.dim() - d :]) != self.normalized_shape:
            trailing = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"{name}: expected input of shape (*, {trailing}) "
                f"(trailing dims = normalized_shape {self.normalized_shape}), "
                f"got shape {tuple(input.shape)}"
            )
        x = _upcast(name, input, self.weight)
        # statistics over the last D dims: one (mean, var) per sample
        x_hat, _, _ = _standardize(x, range(-d, 0), self.eps)
        # y = x_hat * gamma + beta, gamma and beta of shape normalized_shape
        return _scale_shift(x_hat, self.weight, self.bias).to(input.dtype)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


# ----------------------------------------------------------------- BatchNorm and friends
class _NormBase(nn.Module):
    """Parameters and running-statistics buffers shared by BatchNorm and InstanceNorm.

    Registration order is torch's: ``weight``, ``bias``, then ``running_mean``,
    ``running_var`` (float, like the weight) and ``num_batches_tracked`` (int64).
    """

    _version = 2  # torch's state_dict version for these layers (num_batches_tracked)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        factory_kwargs = {"device": device, "dtype": dtype}
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.empty(num_features, **factory_kwargs))
            if bias:
                self.bias = nn.Parameter(torch.empty(num_features, **factory_kwargs))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory_kwargs))
            self.register_buffer("running_var", torch.ones(num_features, **factory_kwargs))
            self.register_buffer(
                "num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _ones_zeros_(self.weight, self.bias)

    def _check_channels(self, layer: str, x: Tensor) -> None:
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{layer}: expected input with num_features = {self.num_features} channels "
                f"at dim 1, got {x.shape[1]} (input shape {tuple(x.shape)})"
            )

    def _update_running_stats(self, mean: Tensor, var: Tensor, n: int, momentum: float) -> None:
        """running <- (1 - momentum) * running + momentum * batch statistic.

        ``mean`` and ``var`` are the (biased) batch statistics, one per channel; the running
        variance stores the *unbiased* estimate var * n / (n - 1), n values per channel.
        """
        with torch.no_grad():
            self.running_mean.mul_(1.0 - momentum).add_(momentum * mean)
            self.running_var.mul_(1.0 - momentum).add_(momentum * var * (n / (n - 1)))

    def _normalize_running(self, x: Tensor, stat_shape: tuple[int, ...]) -> Tensor:
        """Eval with tracked statistics: x_hat = (x - running_mean) / sqrt(running_var + eps)."""
        mean = self.running_mean.view(stat_shape)  # (1, C, 1, ...)
        var = self.running_var.view(stat_shape)  # (1, C, 1, ...)
        return (x - mean) / torch.sqrt(var + self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """Batch normalization over every axis except the channel axis 1."""

    _ranks: tuple[int, ...] = ()
    _shape_hint = ""

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_float(name, "input", input)
        check_rank(name, "input", input, self._ranks, self._shape_hint)
        self._check_channels(name, input)
        x = _upcast(name, input, self.running_mean if self.weight is None else self.weight)
        C = input.shape[1]
        dims = (0, *range(2, input.dim()))  # every axis but C: (N,) or (N, L) or (N, H, W)
        stat_shape = (1, C) + (1,) * (input.dim() - 2)  # (1, C, 1, ...) broadcasts per channel
        # batch statistics in training, and in eval when no running statistics are kept
        if self.training or self.running_mean is None:
            n = input.numel() // C  # values per channel
            if n == 1:
                raise ValueError(
                    f"{name}: Expected more than 1 value per channel when training, "
                    f"got input size {tuple(input.shape)}"
                )
            # x_hat = (x - E[x]) / sqrt(Var[x] + eps), E and Var over (N, *) per channel
            x_hat, mean, var = _standardize(x, dims, self.eps)
            if self.training and self.track_running_stats:
                self.num_batches_tracked.add_(1)
                # momentum=None: cumulative average, the k-th batch weighs 1/k
                k = int(self.num_batches_tracked)
                m = 1.0 / k if self.momentum is None else self.momentum
                self._update_running_stats(mean.flatten(), var.flatten(), n, m)
        else:
            x_hat = self._normalize_running(x, stat_shape)
        # y = x_hat * gamma + beta, one gamma/beta per channel
        w = None if self.weight is None else self.weight.view(stat_shape)  # (1, C, 1, ...)
        b = None if self.bias is None else self.bias.view(stat_shape)  # (1, C, 1, ...)
        return _scale_shift(x_hat, w, b).to(input.dtype)


class BatchNorm1d(_BatchNorm):
    r"""Batch normalization (Ioffe & Szegedy, 2015) of a (N, C) or (N, C, L) input.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Statistics are per channel ``C``, over the batch axis ``N`` (and the length ``L``).
    Training normalises with the biased batch variance and updates
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* variance;
    ``momentum=None`` makes it a cumulative average (weight ``1 / num_batches_tracked``).
    Eval normalises with the running statistics (batch statistics when
    ``track_running_stats=False``). ``gamma``, ``beta`` have shape ``(C,)``.

    Args:
        num_features: number of channels :math:`C` of the input.
        eps: added to the variance for numerical stability. Default: 1e-5.
        momentum: weight of the new batch in the running averages. ``None`` makes them
            a cumulative average of every batch so far. Default: 0.1.
        affine: if ``True``, learn :math:`\gamma` and :math:`\beta`. Default: ``True``.
        track_running_stats: if ``True``, keep running averages and use them in eval; if
            ``False``, use batch statistics in eval too. Default: ``True``.
        device, dtype: where and in which floating-point type the parameters and buffers
            are created.
        bias: (keyword only) if ``False`` (and ``affine``), learn :math:`\gamma` only.

    Shape:
        - Input: :math:`(N, C)` or :math:`(N, C, L)`
        - Output: same shape as the input

    Examples::

        >>> import torch, scratch
        >>> m = scratch.BatchNorm1d(100, momentum=None)
        >>> m(torch.randn(20, 100)).shape, int(m.num_batches_tracked)
        (torch.Size([20, 100]), 1)
    """

    _ranks = (2, 3)
    _shape_hint = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalization (Ioffe & Szegedy, 2015) of a (N, C, H, W) input.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Statistics are per channel ``C``, over the axes ``(N, H, W)``: every pixel of every
    image in the batch shares its channel's mean and variance. Running statistics,
    momentum and train/eval behave as in :class:`BatchNorm1d`.

    Args:
        num_features: number of channels :math:`C` of the input.
        eps: added to the variance for numerical stability. Default: 1e-5.
        momentum: weight of the new batch in the running averages. ``None`` makes them
            a cumulative average of every batch so far. Default: 0.1.
        affine: if ``True``, learn :math:`\gamma` and :math:`\beta`. Default: ``True``.
        track_running_stats: if ``True``, keep running averages and use them in eval; if
            ``False``, use batch statistics in eval too. Default: ``True``.
        device, dtype: where and in which floating-point type the parameters and buffers
            are created.
        bias: (keyword only) if ``False`` (and ``affine``), learn :math:`\gamma` only.

    Shape:
        - Input: :math:`(N, C, H, W)`
        - Output: :math:`(N, C, H, W)`

    Examples::

        >>> import torch, scratch
        >>> m = scratch.BatchNorm2d(100, affine=False)
        >>> m(torch.randn(20, 100, 5, 7)).shape
        torch.Size([20, 100, 5, 7])
    """

    _ranks = (4,)
    _shape_hint = "(N, C, H, W)"


class InstanceNorm2d(_NormBase):
    r"""Instance normalization (Ulyanov et al., 2016): each image's channels on their own.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Statistics are per (sample, channel), over the spatial axes ``(H, W)`` only. With
    ``track_running_stats=True`` training also updates running averages (the batch mean of
    the per-instance mean and unbiased variance; ``momentum=None`` leaves them unchanged,
    as in torch) and eval normalises with them. ``affine=False`` by default.

    Args:
        num_features: number of channels :math:`C` of the input.
        eps: added to the variance for numerical stability. Default: 1e-5.
        momentum: weight of the new batch in the running averages; ``None`` leaves them
            unchanged. Default: 0.1.
        affine: if ``True``, learn a per-channel :math:`\gamma` and :math:`\beta`.
            Default: ``False``.
        track_running_stats: if ``True``, keep running averages and use them in eval.
            Default: ``False``.
        device, dtype: where and in which floating-point type the parameters and buffers
            are created.
        bias: (keyword only) if ``False`` (and ``affine``), learn :math:`\gamma` only.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`
        - Output: same shape as the input

    Examples::

        >>> import torch, scratch
        >>> m = scratch.InstanceNorm2d(100, affine=True)
        >>> m(torch.randn(20, 100, 5, 7)).shape
        torch.Size([20, 100, 5, 7])
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_float(name, "input", input)
        check_rank(name, "input", input, (3, 4), "(N, C, H, W) or (C, H, W)")
        x = input if input.dim() == 4 else input.unsqueeze(0)  # (N, C, H, W)
        N, C, H, W = x.shape
        if C != self.num_features and not (self.affine or self.track_running_stats):
            # torch only warns: without gamma/beta or buffers, num_features is unused
            warnings.warn(
                f"{name}: input has {C} channels at dim {input.dim() - 3}, "
                f"num_features is {self.num_features} (unused since affine=False)",
                stacklevel=2,
            )
        else:
            self._check_channels(name, x)
        x = _upcast(name, x, self.weight)
        stat_shape = (1, C, 1, 1)
        if self.training or not self.track_running_stats:
            if H * W == 1:
                raise ValueError(
                    f"{name}: Expected more than 1 spatial element when training, "
                    f"got input size {tuple(input.shape)}"
                )
            # x_hat = (x - E[x]) / sqrt(Var[x] + eps), E and Var over (H, W): mean is (N, C, 1, 1)
            x_hat, mean, var = _standardize(x, (2, 3), self.eps)
            if self.training and self.track_running_stats:
                m = 0.0 if self.momentum is None else self.momentum
                self._update_running_stats(mean.mean((0, 2, 3)), var.mean((0, 2, 3)), H * W, m)
        else:
            x_hat = self._normalize_running(x, stat_shape)
        w = None if self.weight is None else self.weight.view(stat_shape)  # (1, C, 1, 1)
        b = None if self.bias is None else self.bias.view(stat_shape)  # (1, C, 1, 1)
        # y = x_hat * gamma + beta
        y = _scale_shift(x_hat, w, b)
        y = y.to(input.dtype)
        return y if input.dim() == 4 else y.squeeze(0)  # back to (C, H, W) if unbatched


# --------------------------------------------------------------------------- GroupNorm
class GroupNorm(nn.Module):
    r"""Group normalization (Wu & He, 2018): channels split into groups, one pair per group.

    .. math::
        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    The ``C`` channels are split into ``num_groups`` groups of ``C / num_groups``
    consecutive channels; statistics are per (sample, group), over that group's channels
    and all spatial axes. ``num_groups=1`` is LayerNorm over (C, *) with per-channel
    affine; ``num_groups=C`` is InstanceNorm. Same in train and eval. ``gamma``, ``beta``
    have shape ``(C,)``.

    Args:
        num_groups: number of groups to split the channels into; must divide
            ``num_channels``.
        num_channels: number of channels :math:`C` of the input.
        eps: added to the variance for numerical stability. Default: 1e-5.
        affine: if ``True``, learn a per-channel :math:`\gamma` and :math:`\beta`.
            Default: ``True``.
        device, dtype: where and in which floating-point type the parameters are created.
        bias: (keyword only) if ``False`` (and ``affine``), learn :math:`\gamma` only.

    Shape:
        - Input: :math:`(N, C, *)` with ``C = num_channels``
        - Output: same shape as the input

    Examples::

        >>> import torch, scratch
        >>> m = scratch.GroupNorm(3, 6)
        >>> m(torch.randn(20, 6, 10, 10)).shape
        torch.Size([20, 6, 10, 10])
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        factory_kwargs = {"device": device, "dtype": dtype}
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(
                f"{type(self).__name__}: num_channels ({num_channels}) must be divisible by "
                f"num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.empty(num_channels, **factory_kwargs))
            if bias:
                self.bias = nn.Parameter(torch.empty(num_channels, **factory_kwargs))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _ones_zeros_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_float(name, "input", input)
        if input.dim() < 2:
            raise ValueError(
                f"{name}: expected input of shape (N, C, *) (at least 2-D), "
                f"got a {input.dim()}-D tensor of shape {tuple(input.shape)}"
            )
        what = "input channels at dim 1 (num_channels)"
        check_size(name, what, input.shape[1], self.num_channels)
        N, C, G = input.shape[0], input.shape[1], self.num_groups
        if N * (C // G) * math.prod(input.shape[2:]) == 1:  # torch's check, kept for parity
            raise ValueError(
                f"{name}: Expected more than 1 value per channel when training, "
                f"got input size {tuple(input.shape)}"
            )
        x = _upcast(name, input, self.weight)
        x = x.reshape(N, G, -1)  # (N, G, C/G * prod(*)): one row per group
        # x_hat = (x - E[x]) / sqrt(Var[x] + eps), E and Var over each group's row
        x_hat, _, _ = _standardize(x, (2,), self.eps)
        x_hat = x_hat.reshape(input.shape)  # (N, C, *)
        stat_shape = (1, C) + (1,) * (input.dim() - 2)  # (1, C, 1, ...)
        w = None if self.weight is None else self.weight.view(stat_shape)
        b = None if self.bias is None else self.bias.view(stat_shape)
        # y = x_hat * gamma + beta, one gamma/beta per channel
        return _scale_shift(x_hat, w, b).to(input.dtype)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
            f"affine={self.affine}, bias={self.bias is not None}"
        )
