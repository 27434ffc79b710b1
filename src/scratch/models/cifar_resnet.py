"""The CIFAR-10 ResNets of He et al. (2016), section 4.2, and their plain twins.

A 3×3 convolution to 16 channels, three stages of ``n`` basic blocks at widths 16, 32
and 64 on 32×32, 16×16 and 8×8 maps, global average pooling and a ``fc`` layer:
``6n + 2`` weighted layers. The shortcuts are the paper's option A, identity everywhere
and, where a stage halves the map and doubles the width, stride-2 subsampling padded
with zero channels, so they add no parameters and a plain net (``residual=False``, the
same layers without shortcuts) has exactly as many parameters as its residual twin.

=========  ======  ===========  =============================
depth      ``n``   paper        parameters (3 → 10 classes)
=========  ======  ===========  =============================
20         3       0.27M        269,722
32         5       0.46M        464,154
44         7       0.66M        658,586
56         9       0.85M        853,018
110        18      1.7M         1,727,962
=========  ======  ===========  =============================
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_rank, check_size
from ..activation import ReLU
from ..conv import Conv2d
from ..init import constant_, kaiming_normal_
from ..linear import Linear
from ..normalization import BatchNorm2d
from ..pooling import AdaptiveAvgPool2d


class ShortcutA(nn.Module):
    r"""Option-A shortcut: keep every ``stride``-th pixel, zero-pad the new channels
    (half on each side), no parameters.

    Args:
        in_planes: channels :math:`C_{in}` of the input.
        planes: channels :math:`C_{out} \ge C_{in}` of the output.
        stride: :math:`s`, the subsampling step in height and width.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`.
        - Output: :math:`(N, C_{out}, \lceil H/s \rceil, \lceil W/s \rceil)`.

    Examples::

        >>> import torch
        >>> from scratch.models import ShortcutA
        >>> ShortcutA(16, 32, stride=2)(torch.randn(2, 16, 32, 32)).shape
        torch.Size([2, 32, 16, 16])
    """

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.in_planes, self.planes, self.stride = in_planes, planes, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C_in, H/s, W/s)
        extra = self.planes - self.in_planes
        # pad order: (W left, W right, H top, H bottom, C front, C back)
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))  # (N, C_out, H/s, W/s)

    def extra_repr(self) -> str:
        return f"{self.in_planes}, {self.planes}, stride={self.stride}"


class CifarBasicBlock(nn.Module):
    r"""``conv3x3 → BN → ReLU → conv3x3 → BN``, plus the shortcut, then ReLU:
    :math:`y = \mathrm{relu}(F(x) + s(x))`; with ``residual=False``,
    :math:`y = \mathrm{relu}(F(x))` (a plain block: ``shortcut`` is ``None``).

    Args:
        in_planes: channels of the input.
        planes: channels of both convolutions and of the output.
        stride: :math:`s`, the stride of the first convolution (and of the shortcut).
        residual: ``False`` drops the shortcut (a block of the "plain" net).

    Shape:
        - Input: :math:`(N, \text{in\_planes}, H, W)`.
        - Output: :math:`(N, \text{planes}, \lceil H/s \rceil, \lceil W/s \rceil)`.

    Examples::

        >>> import torch
        >>> from scratch.models import CifarBasicBlock
        >>> CifarBasicBlock(16, 32, stride=2)(torch.randn(2, 16, 32, 32)).shape
        torch.Size([2, 32, 16, 16])
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.conv1 = Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.relu = ReLU(inplace=True)
        self.residual = residual
        if not residual:
            self.shortcut = None
        elif stride != 1 or in_planes != planes:
            self.shortcut = ShortcutA(in_planes, planes, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)  # F(x) + s(x)
        return self.relu(out)


class CifarResNet(nn.Module):
    r"""``conv1`` (3×3, 16) → ``layer1..layer3`` (``num_blocks`` blocks each at
    ``widths``, the last two starting with stride 2) → ``avgpool`` → ``fc``.

    Convolutions start as Kaiming-normal (``fan_out``, ReLU gain, as torchvision's ResNet),
    BN as weight 1, bias 0; ``fc`` keeps ``Linear``'s default.

    Args:
        num_blocks: ``n``, blocks per stage (depth ``6n + 2``).
        residual: ``False`` drops every shortcut (the paper's "plain" net).
        in_channels: channels of the input image.
        num_classes: number of output logits.
        widths: channels of the three stages.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)` (32×32 in the paper).
        - Output: :math:`(N, \text{num\_classes})`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.resnet20()  # CifarResNet(num_blocks=3)
        >>> m(torch.randn(2, 3, 32, 32)).shape, m.depth
        (torch.Size([2, 10]), 20)
    """

    def __init__(
        self,
        num_blocks: int,
        residual: bool = True,
        in_channels: int = 3,
        num_classes: int = 10,
        widths: tuple[int, int, int] = (16, 32, 64),
    ) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f"{type(self).__name__}: expected num_blocks >= 1, got {num_blocks}")
        self.num_blocks, self.residual, self.in_channels = num_blocks, residual, in_channels
        self.conv1 = Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU(inplace=True)
        stages, in_planes = [], widths[0]
        for i, planes in enumerate(widths):
            strides = [1 if i == 0 else 2] + [1] * (num_blocks - 1)
            blocks = []
            for stride in strides:
                blocks.append(CifarBasicBlock(in_planes, planes, stride, residual))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(widths[-1], num_classes)

        for m in self.modules():
            if isinstance(m, Conv2d):
                kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BatchNorm2d):
                constant_(m.weight, 1)
                constant_(m.bias, 0)

    @property
    def depth(self) -> int:
        """Weighted layers: ``6n`` convolutions in the stages, ``conv1`` and ``fc``."""
        return 6 * self.num_blocks + 2

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        check_rank(name, "input", x, (4,), "(N, C, H, W)")
        check_size(name, "input channels", x.shape[1], self.in_channels)
        x = self.relu(self.bn1(self.conv1(x)))  # (N, 16, 32, 32)
        x = self.layer3(self.layer2(self.layer1(x)))  # (N, 64, 8, 8)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 64)
        return self.fc(x)


def cifar_resnet(
    depth: int, residual: bool = True, in_channels: int = 3, num_classes: int = 10
) -> CifarResNet:
    """The ``depth = 6n + 2`` network: 20, 32, 44, 56, 110 in the paper (any ``6n + 2``)."""
    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(
            f"cifar_resnet: expected depth = 6n + 2 (20, 32, 44, 56, 110), got {depth}"
        )
    return CifarResNet((depth - 2) // 6, residual, in_channels, num_classes)


def resnet20(**kwargs) -> CifarResNet:
    """ResNet-20 for CIFAR (0.27M parameters); ``kwargs`` go to :func:`cifar_resnet`."""
    return cifar_resnet(20, **kwargs)


def resnet32(**kwargs) -> CifarResNet:
    """ResNet-32 for CIFAR (0.46M parameters); ``kwargs`` go to :func:`cifar_resnet`."""
    return cifar_resnet(32, **kwargs)


def resnet44(**kwargs) -> CifarResNet:
    """ResNet-44 for CIFAR (0.66M parameters); ``kwargs`` go to :func:`cifar_resnet`."""
    return cifar_resnet(44, **kwargs)


def resnet56(**kwargs) -> CifarResNet:
    """ResNet-56 for CIFAR (0.85M parameters); ``kwargs`` go to :func:`cifar_resnet`."""
    return cifar_resnet(56, **kwargs)


def resnet110(**kwargs) -> CifarResNet:
    """ResNet-110 for CIFAR (1.7M parameters); ``kwargs`` go to :func:`cifar_resnet`."""
    return cifar_resnet(110, **kwargs)


def plain20(**kwargs) -> CifarResNet:
    """The plain (no shortcut) twin of :func:`resnet20`, with as many parameters."""
    return cifar_resnet(20, residual=False, **kwargs)


def plain32(**kwargs) -> CifarResNet:
    """The plain (no shortcut) twin of :func:`resnet32`, with as many parameters."""
    return cifar_resnet(32, residual=False, **kwargs)


def plain44(**kwargs) -> CifarResNet:
    """The plain (no shortcut) twin of :func:`resnet44`, with as many parameters."""
    return cifar_resnet(44, residual=False, **kwargs)


def plain56(**kwargs) -> CifarResNet:
    """The plain (no shortcut) twin of :func:`resnet56`, with as many parameters."""
    return cifar_resnet(56, residual=False, **kwargs)


def plain110(**kwargs) -> CifarResNet:
    """The plain (no shortcut) twin of :func:`resnet110`, with as many parameters."""
    return cifar_resnet(110, residual=False, **kwargs)
