"""The dense block of DenseNet-BC (Huang et al., 2017), with torchvision's names.

Every layer sees the concatenation of the block's input and of all earlier layers'
outputs, and adds ``growth_rate`` channels of its own, so a block of ``L`` layers maps
``C`` channels to ``C + L·growth_rate``. The ``state_dict`` keys
(``denselayer1.norm1.weight``, ...) are those of ``torchvision.models.densenet._DenseBlock``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_probability, check_rank, check_size
from ..activation import ReLU
from ..conv import Conv2d
from ..dropout import Dropout
from ..normalization import BatchNorm2d


class DenseLayer(nn.Module):
    r"""``BN → ReLU → Conv1×1`` (bottleneck to ``bn_size · growth_rate`` channels) ``→ BN →
    ReLU → Conv3×3`` (to ``growth_rate`` channels), then dropout:

    .. math:: h_\ell = H_\ell([x_0, h_1, \ldots, h_{\ell-1}])

    where :math:`[\cdot]` is concatenation along channels. ``forward`` takes either that
    concatenation or the list of its pieces (as torchvision's ``_DenseLayer`` does).

    Args:
        num_input_features: channels :math:`C` of the (concatenated) input.
        growth_rate: :math:`k`, channels the layer adds to the block.
        bn_size: the bottleneck ``Conv1×1`` outputs ``bn_size · growth_rate`` channels.
        drop_rate: probability of zeroing an output element (no dropout when 0).

    Shape:
        - Input: :math:`(N, \text{num\_input\_features}, H, W)`, or a list of
          :math:`(N, C_i, H, W)` with :math:`\sum_i C_i = \text{num\_input\_features}`.
        - Output: :math:`(N, \text{growth\_rate}, H, W)`.

    Examples::

        >>> import torch, scratch
        >>> layer = scratch.models.DenseLayer(64, growth_rate=32, bn_size=4)
        >>> layer([torch.randn(2, 48, 8, 8), torch.randn(2, 16, 8, 8)]).shape
        torch.Size([2, 32, 8, 8])
    """

    def __init__(
        self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate: float = 0.0
    ) -> None:
        super().__init__()
        check_probability(type(self).__name__, "drop_rate", drop_rate)
        self.norm1 = BatchNorm2d(num_input_features)
        self.relu1 = ReLU(inplace=True)
        self.conv1 = Conv2d(num_input_features, bn_size * growth_rate, 1, stride=1, bias=False)
        self.norm2 = BatchNorm2d(bn_size * growth_rate)
        self.relu2 = ReLU(inplace=True)
        self.conv2 = Conv2d(bn_size * growth_rate, growth_rate, 3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.drop = Dropout(self.drop_rate)  # no state: the state_dict keys stay torchvision's
        self.num_input_features = num_input_features

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        x = input if isinstance(input, Tensor) else torch.cat(list(input), 1)  # (N, C, H, W)
        name = type(self).__name__
        check_rank(name, "input", x, (4,), "(N, C, H, W)")
        check_size(name, "input channels", x.shape[1], self.num_input_features)
        bottleneck = self.conv1(self.relu1(self.norm1(x)))  # (N, bn_size·k, H, W)
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))  # (N, k, H, W)
        return self.drop(new_features) if self.drop_rate > 0 else new_features


class DenseBlock(nn.ModuleDict):
    r"""``num_layers`` :class:`DenseLayer`\ s, layer ``i`` (from 1) reading
    ``num_input_features + (i − 1)·growth_rate`` channels; the output concatenates the
    input and every layer's ``growth_rate`` new channels.

    Args:
        num_layers: :math:`L`, the number of :class:`DenseLayer`\ s.
        num_input_features: channels :math:`C` of the block's input.
        bn_size: bottleneck factor of every layer (see :class:`DenseLayer`).
        growth_rate: :math:`k`, channels each layer adds.
        drop_rate: dropout probability of every layer.

    Shape:
        - Input: :math:`(N, C, H, W)` with :math:`C = \text{num\_input\_features}`.
        - Output: :math:`(N, C + \text{num\_layers} \cdot \text{growth\_rate}, H, W)`.

    Examples::

        >>> import torch, scratch
        >>> block = scratch.models.DenseBlock(6, 64, bn_size=4, growth_rate=32)
        >>> block(torch.randn(2, 64, 8, 8)).shape, block.num_output_features
        (torch.Size([2, 256, 8, 8]), 256)
    """

    def __init__(
        self,
        num_layers: int,
        num_input_features: int,
        bn_size: int,
        growth_rate: int,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(
                num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate
            )
            self.add_module(f"denselayer{i + 1}", layer)
        self.num_input_features = num_input_features
        self.num_output_features = num_input_features + num_layers * growth_rate

    def forward(self, init_features: Tensor) -> Tensor:
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))  # each reads all earlier features
        return torch.cat(features, 1)  # (N, C + L·k, H, W)
