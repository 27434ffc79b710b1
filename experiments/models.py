"""Small networks the experiments need that ``scratch.models`` does not provide, each
assembled from ``scratch`` layers only (no layer is re-implemented here)."""

from __future__ import annotations

from torch import Tensor, nn

import scratch


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
        >>> from experiments.models import Mnist1dCNN
        >>> Mnist1dCNN()(torch.randn(8, 40)).shape
        torch.Size([8, 10])
    """

    def __init__(self, channels: int = 25, length: int = 40, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = scratch.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = scratch.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = scratch.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.relu = scratch.ReLU()
        out_len = length
        for k in (5, 3, 3):
            out_len = (out_len + 2 - k) // 2 + 1  # 40 -> 19 -> 10 -> 5
        self.flatten = scratch.Flatten()
        self.linear = scratch.Linear(channels * out_len, num_classes)

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
        >>> from experiments.models import Mnist1dGRU
        >>> Mnist1dGRU()(torch.randn(8, 40)).shape
        torch.Size([8, 10])
    """

    def __init__(self, hidden_size: int = 6, length: int = 40, num_classes: int = 10) -> None:
        super().__init__()
        self.gru = scratch.GRU(1, hidden_size, batch_first=True, bidirectional=True)
        self.flatten = scratch.Flatten()
        self.linear = scratch.Linear(2 * hidden_size * length, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.gru(x.unsqueeze(-1))  # (N, L, 2H)
        return self.linear(self.flatten(out))  # (N, classes)


class SequenceTransformer(nn.Module):
    """A transformer encoder on real-valued sequences: ``Linear`` embedding of each step's
    features, sinusoidal positions, ``num_layers`` encoder layers, mean over positions (or
    the last position), ``Linear`` head.

    Args:
        input_size: features per step (1 also accepts an ``(N, L)`` input).
        out_features: outputs of the head (logits, or a regression target).
        d_model, nhead, num_layers, dim_feedforward, dropout: as in
            ``scratch.TransformerEncoderLayer`` (pre-norm, batch first).
        max_len: longest sequence the positional encoding covers.
        pool: ``"mean"`` over positions or ``"last"`` position into the head.

    Shape: ``(N, L, input_size)`` (or ``(N, L)`` with ``input_size=1``) →
    ``(N, out_features)``.

    Examples::

        >>> import torch
        >>> from experiments.models import SequenceTransformer
        >>> m = SequenceTransformer(2, 1, pool="last")
        >>> m(torch.randn(4, 30, 2)).shape
        torch.Size([4, 1])
    """

    def __init__(
        self,
        input_size: int,
        out_features: int,
        d_model: int = 32,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 64,
        max_len: int = 4096,
        dropout: float = 0.0,
        pool: str = "mean",
    ) -> None:
        super().__init__()
        if pool not in ("mean", "last"):
            raise ValueError(f"SequenceTransformer: pool must be 'mean' or 'last', got {pool!r}")
        self.input_size, self.pool = input_size, pool
        self.embed = scratch.Linear(input_size, d_model)
        self.pos = scratch.PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.layers = nn.ModuleList(
            scratch.TransformerEncoderLayer(
                d_model, nhead, dim_feedforward, dropout, batch_first=True, norm_first=True
            )
            for _ in range(num_layers)
        )
        self.norm = scratch.LayerNorm(d_model)
        self.head = scratch.Linear(d_model, out_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2 and self.input_size == 1:
            x = x.unsqueeze(-1)  # (N, L, 1)
        h = self.pos(self.embed(x))  # (N, L, d)
        for layer in self.layers:
            h = layer(h)  # (N, L, d)
        h = self.norm(h)
        pooled = h.mean(dim=1) if self.pool == "mean" else h[:, -1]  # (N, d)
        return self.head(pooled)
