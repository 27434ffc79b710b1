"""ResNet-18/34/50/101/152 (He et al., 2016) with torchvision's exact module tree.

The names, ``state_dict`` keys and initialization are those of ``torchvision.models``,
so ``resnet50().load_state_dict(torchvision.models.resnet50().state_dict())`` works
both ways. Like torchvision, ``Bottleneck`` strides in its 3×3 convolution ("ResNet
v1.5"), not in the first 1×1 of the paper.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .._checks import check_rank, check_size
from ..activation import ReLU
from ..conv import Conv2d
from ..init import constant_, kaiming_normal_
from ..linear import Linear
from ..normalization import BatchNorm2d, GroupNorm
from ..pooling import AdaptiveAvgPool2d, MaxPool2d


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1):
    """3×3 convolution, padded to keep the size (at stride 1), no bias (a BN follows)."""
    return Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1):
    """1×1 convolution, no bias: mixes channels, or projects a shortcut."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    r"""Two 3×3 convolutions and a shortcut: :math:`y = \mathrm{relu}(F(x) + s(x))` with
    :math:`F = \mathrm{BN}\circ\mathrm{conv}\circ\mathrm{relu}\circ\mathrm{BN}\circ\mathrm{conv}`
    and :math:`s` the identity, or ``downsample`` (1×1 conv + BN) when the shape changes.

    Args:
        inplanes: channels of the input.
        planes: channels of both convolutions and of the output.
        stride: :math:`s`, the stride of the block's 3×3 convolution.
        downsample: the shortcut when the shape changes (a 1×1 convolution and a norm, as
            ``ResNet`` builds it); ``None`` for the identity.
        groups: must be 1 (torchvision's restriction).
        base_width: must be 64.
        dilation: must be 1.
        norm_layer: factory of the norm layers, ``BatchNorm2d`` when ``None``.

    Shape:
        - Input: :math:`(N, \text{inplanes}, H, W)`.
        - Output: :math:`(N, \text{planes}, \lceil H/s \rceil, \lceil W/s \rceil)`, ``s = stride``.

    Examples::

        >>> import torch
        >>> from scratch.models import BasicBlock
        >>> BasicBlock(64, 64)(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = norm_layer or BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError(f"{type(self).__name__} only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError(f"Dilation > 1 not supported in {type(self).__name__}")
        self.conv1 = conv3x3(inplanes, planes, stride)  # strides here, like downsample
        self.bn1 = norm_layer(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        # y = relu(F(x) + s(x))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    r"""1×1 (reduce to ``width``) → 3×3 (stride) → 1×1 (expand to ``4·planes``), each with
    BN, plus a shortcut: :math:`y = \mathrm{relu}(F(x) + s(x))`. ``width = planes ·
    base_width/64 · groups`` (64/1 for ResNet-50/101/152; ResNeXt and Wide ResNet change it).

    Args:
        inplanes: channels of the input.
        planes: the output has ``planes · expansion`` (4·planes) channels.
        stride: :math:`s`, the stride of the block's 3×3 convolution.
        downsample: the shortcut when the shape changes (a 1×1 convolution and a norm, as
            ``ResNet`` builds it); ``None`` for the identity.
        groups: groups of the 3×3 convolution (ResNeXt).
        base_width: width per group; 64 for the plain ResNets.
        dilation: dilation of the 3×3 convolution.
        norm_layer: factory of the norm layers, ``BatchNorm2d`` when ``None``.

    Shape:
        - Input: :math:`(N, \text{inplanes}, H, W)`.
        - Output: :math:`(N, 4\,\text{planes}, \lceil H/s \rceil, \lceil W/s \rceil)`.

    Examples::

        >>> import torch
        >>> from scratch.models import Bottleneck
        >>> Bottleneck(256, 64)(torch.randn(2, 256, 14, 14)).shape
        torch.Size([2, 256, 14, 14])
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = norm_layer or BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)  # strides here (v1.5)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        # y = relu(F(x) + s(x))
        return self.relu(out + identity)


class ResNet(nn.Module):
    r"""Stem (7×7/2 conv, BN, ReLU, 3×3/2 max-pool), four stages ``layer1..layer4`` of
    ``layers[i]`` blocks at widths 64/128/256/512 (×``block.expansion``), the last three
    halving the resolution, then global average pooling and ``fc``.

    Convolutions start as Kaiming-normal (``fan_out``, ReLU gain), BN as weight 1, bias 0;
    ``zero_init_residual`` zeroes each block's last BN weight so every block starts as the
    identity (Goyal et al., 2017). Arguments are torchvision's.

    Args:
        block: ``BasicBlock`` (ResNet-18/34) or ``Bottleneck`` (ResNet-50/101/152).
        layers: number of blocks in each of the four stages, e.g. ``[2, 2, 2, 2]``.
        num_classes: number of output logits.
        zero_init_residual: start each block's last norm weight at 0 (blocks start as the
            identity).
        groups: groups of the 3×3 convolutions (ResNeXt).
        width_per_group: width per group (``base_width`` of the blocks); 128 gives Wide
            ResNet-50-2.
        replace_stride_with_dilation: three flags, one per stage ``layer2..layer4``: dilate
            its convolutions instead of striding (keeps the resolution).
        norm_layer: factory of the norm layers, ``BatchNorm2d`` when ``None``.

    Shape:
        - Input: :math:`(N, 3, H, W)`.
        - Output: :math:`(N, \text{num\_classes})`.

    Examples::

        >>> import torch
        >>> from scratch.models import BasicBlock, ResNet
        >>> m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
        >>> m(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: list[bool] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self._norm_layer = norm_layer = norm_layer or BatchNorm2d
        self.inplanes, self.dilation = 64, 1
        replace_stride_with_dilation = replace_stride_with_dilation or [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                "replace_stride_with_dilation should be None "
                f"or a 3-element tuple, got {replace_stride_with_dilation}"
            )
        self.groups, self.base_width = groups, width_per_group
        self.conv1 = Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = ReLU(inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        dilate = replace_stride_with_dilation
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=dilate[2])
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, Conv2d):
                kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (BatchNorm2d, GroupNorm)) and m.weight is not None:
                constant_(m.weight, 1)
                constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1, dilate: bool = False):
        """One stage: the first block may change width and stride (and gets a 1×1
        projection shortcut ``downsample``), the other ``blocks − 1`` keep the shape."""
        norm_layer, downsample, previous_dilation = self._norm_layer, None, self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )
        common = dict(groups=self.groups, base_width=self.base_width, norm_layer=norm_layer)
        layers = [
            block(self.inplanes, planes, stride, downsample, dilation=previous_dilation, **common)
        ]
        self.inplanes = planes * block.expansion
        layers += [
            block(self.inplanes, planes, dilation=self.dilation, **common) for _ in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        check_rank(name, "input", x, (4,), "(N, 3, H, W)")
        check_size(name, "input channels", x.shape[1], 3)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (N, 512·e, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 512·e)
        return self.fc(x)


def _resnet(block, layers, num_classes: int, **kwargs) -> ResNet:
    """torchvision's helper, without the pretrained weights."""
    return ResNet(block, layers, num_classes=num_classes, **kwargs)


def resnet18(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-18: ``BasicBlock`` × [2, 2, 2, 2], 11.7M parameters at 1000 classes."""
    return _resnet(BasicBlock, [2, 2, 2, 2], num_classes, **kwargs)


def resnet34(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-34: ``BasicBlock`` × [3, 4, 6, 3], 21.8M parameters at 1000 classes."""
    return _resnet(BasicBlock, [3, 4, 6, 3], num_classes, **kwargs)


def resnet50(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-50: ``Bottleneck`` × [3, 4, 6, 3], 25.6M parameters at 1000 classes."""
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes, **kwargs)


def resnet101(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-101: ``Bottleneck`` × [3, 4, 23, 3], 44.5M parameters at 1000 classes."""
    return _resnet(Bottleneck, [3, 4, 23, 3], num_classes, **kwargs)


def resnet152(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-152: ``Bottleneck`` × [3, 8, 36, 3], 60.2M parameters at 1000 classes."""
    return _resnet(Bottleneck, [3, 8, 36, 3], num_classes, **kwargs)
