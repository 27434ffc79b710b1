"""The small convolutional classifier of document 003 (28×28 grey images, 10 classes)."""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from .._checks import check_probability, check_rank, check_size
from ..activation import ReLU
from ..conv import Conv2d
from ..dropout import Dropout
from ..linear import Flatten, Linear
from ..normalization import BatchNorm2d
from ..pooling import MaxPool2d


def _feature_side(image_size: int) -> int:
    """Side of the last feature map: two rounds of ``3×3`` conv (−2) and ``2×2`` pool (÷2)."""
    side = image_size
    for _ in range(2):
        side = (side - 2) // 2
    return side


class SmallImageClassifier(nn.Sequential):
    """``Conv(1→32, 3) → ReLU → MaxPool(2) → Conv(32→64, 3) → ReLU → MaxPool(2) → Flatten →
    Linear(1600→128) → ReLU → Dropout(0.5) → Linear(128→10)``: 225,034 parameters at the
    defaults.

    With ``batchnorm=True`` a ``BatchNorm2d`` follows each convolution (``bn1``, ``bn2``),
    adding ``2 × (32 + 64)`` parameters. The named children (``conv1``, ``relu1``, ``pool1``,
    ...) are what :func:`scratch.analysis.summary.shape_table` prints.

    Args:
        in_channels: channels of the input image (1 for grey, 3 for colour).
        num_classes: number of output logits.
        dropout: probability of the ``Dropout`` before the last layer.
        batchnorm: insert ``BatchNorm2d`` after each convolution.
        image_size: side of the square input; fixes ``fc1``'s fan-in
            (``64 · s²`` with ``s = ((image_size − 2)//2 − 2)//2``, 5 for 28).

    Shape:
        - Input: :math:`(N, C_{in}, S, S)` with ``S = image_size``.
        - Output: :math:`(N, \\text{num\\_classes})`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.SmallImageClassifier()
        >>> m(torch.randn(8, 1, 28, 28)).shape, sum(p.numel() for p in m.parameters())
        (torch.Size([8, 10]), 225034)
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        dropout: float = 0.5,
        batchnorm: bool = False,
        image_size: int = 28,
    ) -> None:
        check_probability(type(self).__name__, "dropout", dropout)
        side = _feature_side(image_size)
        if side < 1:
            raise ValueError(f"{type(self).__name__}: expected image_size >= 10, got {image_size}")

        def conv_block(i: int, c_in: int, c_out: int) -> list[tuple[str, nn.Module]]:
            block: list[tuple[str, nn.Module]] = [(f"conv{i}", Conv2d(c_in, c_out, 3))]
            if batchnorm:
                block.append((f"bn{i}", BatchNorm2d(c_out)))
            return block + [(f"relu{i}", ReLU()), (f"pool{i}", MaxPool2d(2))]

        super().__init__(
            OrderedDict(
                conv_block(1, in_channels, 32)  # (N, 32, 13, 13) at 28×28
                + conv_block(2, 32, 64)  # (N, 64, 5, 5)
                + [
                    ("flatten", Flatten()),  # (N, 64·5·5) = (N, 1600)
                    ("fc1", Linear(64 * side * side, 128)),
                    ("relu3", ReLU()),
                    ("dropout", Dropout(dropout)),
                    ("fc2", Linear(128, num_classes)),
                ]
            )
        )
        self.in_channels, self.num_classes, self.image_size = in_channels, num_classes, image_size

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_rank(name, "input", input, (4,), "(N, C, H, W)")
        check_size(name, "input channels", input.shape[1], self.in_channels)
        if tuple(input.shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(
                f"{name}: expected {self.image_size}×{self.image_size} images "
                f"(image_size={self.image_size}), got {tuple(input.shape[2:])}"
            )
        return super().forward(input)
