"""The two small networks of the MNIST-1D paper (Greydanus, 2020), built from the library's
layers: a 1-D CNN and a bidirectional GRU, each read out by one ``Linear``.

Inputs are batches of 1-D signals ``(N, L)`` (40 points in MNIST-1D).
"""

from __future__ import annotations

from torch import Tensor, nn

from ..activation import ReLU
from ..conv import Conv1d
from ..linear import Flatten, Linear
from ..recurrent import GRU


class Mnist1dCNN(nn.Module):
    """The MNIST-1D paper's CNN: three ``Conv1d`` (kernel 5, 3, 3; stride 2; padding 1)
    with ReLU, then ``Linear`` on the flattened ``channels × 5`` features.

    Args:
        channels: output channels of each convolution.
        length: points per input signal (40 in MNIST-1D).
        num_classes: number of output logits.

    Shape: ``(N, 40)`` → ``(N, num_classes)``.

    Examples::

        >>> import torch
        >>> from scratch.models import Mnist1dCNN
        >>> Mnist1dCNN()(torch.randn(8, 40)).shape
        torch.Size([8, 10])
    """

    def __init__(self, channels: int = 25, length: int = 40, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = Conv1d(channels, channels, 3, stride=2, padding=1)
        self.relu = ReLU()
        out_len = length
        for k in (5, 3, 3):
            out_len = (out_len + 2 - k) // 2 + 1  # 40 -> 19 -> 10 -> 5
        self.flatten = Flatten()
        self.linear = Linear(channels * out_len, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = x.unsqueeze(1)  # (N, 1, L)
        h = self.relu(self.conv1(h))  # (N, C, 19)
        h = self.relu(self.conv2(h))  # (N, C, 10)
        h = self.relu(self.conv3(h))  # (N, C, 5)
        return self.linear(self.flatten(h))  # (N, classes)


class Mnist1dGRU(nn.Module):
    """The MNIST-1D paper's recurrent model: a bidirectional ``GRU`` over the 40 positions
    (one feature each) whose outputs at every step are flattened into a ``Linear``.

    Args:
        hidden_size: features of each direction's hidden state.
        length: points per input signal (the ``Linear`` reads all of them).
        num_classes: number of output logits.

    Shape: ``(N, L)`` → ``(N, num_classes)``.

    Examples::

        >>> import torch
        >>> from scratch.models import Mnist1dGRU
        >>> Mnist1dGRU()(torch.randn(8, 40)).shape
        torch.Size([8, 10])
    """

    def __init__(self, hidden_size: int = 6, length: int = 40, num_classes: int = 10) -> None:
        super().__init__()
        self.gru = GRU(1, hidden_size, batch_first=True, bidirectional=True)
        self.flatten = Flatten()
        self.linear = Linear(2 * hidden_size * length, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.gru(x.unsqueeze(-1))  # (N, L, 2H)
        return self.linear(self.flatten(out))  # (N, classes)
