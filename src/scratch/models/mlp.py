"""A multilayer perceptron with the knobs the chapters on depth, width, initialization and
learning rates turn: hidden widths, activation, dropout and batch normalization."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from .._checks import check_probability, check_tensor
from ..activation import GELU, ReLU, Sigmoid, Tanh
from ..dropout import Dropout
from ..linear import Linear
from ..normalization import BatchNorm1d

# activation name -> factory of a fresh module ("identity" gives a deep *linear* network)
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": ReLU,
    "gelu": GELU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "identity": nn.Identity,
}


class MLP(nn.Sequential):
    r"""``Linear → [BatchNorm1d] → activation → [Dropout]`` per hidden width, then a
    last ``Linear``:

    .. math::
        h_0 = x, \qquad h_{i} = \mathrm{drop}(\phi(\mathrm{BN}(W_i h_{i-1} + b_i))),
        \qquad y = W_{L+1} h_L + b_{L+1}.

    The modules sit in one ``nn.Sequential`` numbered from 0, so
    ``[m for m in model if isinstance(m, scratch.Linear)]`` walks the layers in order.

    Args:
        in_features: size of each input sample.
        hidden_features: width of each hidden layer, e.g. ``[256, 256]``; ``[]`` gives a
            single ``Linear`` (logistic/softmax regression).
        out_features: size of each output sample.
        activation: ``"relu"``, ``"gelu"``, ``"tanh"``, ``"sigmoid"``, ``"identity"``, or a
            zero-argument callable that returns a fresh module.
        dropout: probability of zeroing a hidden unit (no ``Dropout`` module when 0).
        batchnorm: put a ``BatchNorm1d`` between each hidden ``Linear`` and its activation.
        bias: give every ``Linear`` a bias.

    Shape:
        - Input: :math:`(N, H_{in})`; without batchnorm any :math:`(*, H_{in})`.
        - Output: :math:`(N, H_{out})` (resp. :math:`(*, H_{out})`).

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.MLP(784, [256, 256], 10, dropout=0.1)
        >>> m(torch.randn(32, 784)).shape, len(m.linears())
        (torch.Size([32, 10]), 3)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: Sequence[int],
        out_features: int,
        activation: str | Callable[[], nn.Module] = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        bias: bool = True,
    ) -> None:
        name = type(self).__name__
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(
                    f"{name}: expected activation in {sorted(ACTIVATIONS)} or a callable, "
                    f"got {activation!r}"
                )
            make_activation = ACTIVATIONS[activation]
        elif callable(activation):
            make_activation = activation
        else:
            kind = type(activation).__name__
            raise TypeError(f"{name}: expected activation to be a name or a callable, got {kind}")
        widths = [int(w) for w in hidden_features]
        if any(w <= 0 for w in [in_features, *widths, out_features]):
            raise ValueError(
                f"{name}: expected positive widths, got in_features={in_features}, "
                f"hidden_features={widths}, out_features={out_features}"
            )
        check_probability(name, "dropout", dropout)

        layers: list[nn.Module] = []
        for fan_in, fan_out in zip([in_features, *widths], widths):
            layers.append(Linear(fan_in, fan_out, bias=bias))
            if batchnorm:
                layers.append(BatchNorm1d(fan_out))
            layers.append(make_activation())
            if dropout > 0:
                layers.append(Dropout(dropout))
        layers.append(Linear(([in_features, *widths])[-1], out_features, bias=bias))
        super().__init__(*layers)
        self.in_features, self.out_features = in_features, out_features
        self.hidden_features = tuple(widths)

    def linears(self) -> list[Linear]:
        """The ``Linear`` layers, input to output (what an init or depth experiment walks)."""
        return [m for m in self if isinstance(m, Linear)]

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_tensor(name, "input", input)
        if input.dim() == 0 or input.shape[-1] != self.in_features:
            raise ValueError(
                f"{name}: expected input with last dimension in_features = {self.in_features}, "
                f"got shape {tuple(input.shape)}"
            )
        return super().forward(input)
