"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU``, twins of their ``torch.nn`` namesakes.

All three share one loop, in :class:`_RecurrentBase`: for each layer, for each direction,
walk the sequence one time step at a time and apply the layer's *cell* (its ``_cell``
method, a few lines holding the cell's equations). The classes differ only in the cell,
the number of gate blocks stacked in each weight matrix and the states they carry.

Fast path: the input projection ``W_ih x_t + b_ih`` does not depend on the previous
state, so it is computed for every time step at once, as one matrix product over the
whole sequence, before the loop; only ``W_hh h_{t-1} + b_hh`` is computed step by step.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from ._checks import check_float, check_probability, check_rank, check_size, same_dtype_device
from .activation import relu, sigmoid, tanh
from .dropout import dropout
from .init import uniform_
from .linear import linear

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM; each (N, H)


class _RecurrentBase(nn.Module):
    """The parameters, checks and layer/direction/time loop shared by RNN, LSTM and GRU."""

    # gate blocks stacked in weight_ih / weight_hh: RNN 1, GRU 3 (r, z, n), LSTM 4 (i, f, g, o)
    _gates = 1
    _state_names: tuple[str, ...] = ("h_0",)

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in [
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ]:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name}: expected {arg} to be an int, got {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name}: expected {arg} > 0, got {value}")
        if not isinstance(proj_size, int) or not 0 <= proj_size < hidden_size:
            raise ValueError(
                f"{name}: expected 0 <= proj_size < hidden_size = {hidden_size}, got {proj_size!r}"
            )
        for arg, value in [("bias", bias), ("batch_first", batch_first)]:
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected {arg} to be a bool, got {type(value).__name__}")
        dropout = check_probability(name, "dropout", dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout is applied between stacked layers only, so dropout={dropout} "
                "does nothing with num_layers=1",
                stacklevel=3,
            )
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = dropout, bidirectional, proj_size
        self._register_weights({"device": device, "dtype": dtype})
        self.reset_parameters()

    def _register_weights(self, factory_kwargs: dict) -> None:
        """Create ``weight_ih_l{k}``, ``weight_hh_l{k}`` (+ biases, ``weight_hr``; ``_reverse``
        for the backward direction) in torch's registration order, uninitialized."""
        gate_size = self._gates * self.hidden_size
        h_out = self.proj_size or self.hidden_size
        self._all_weights: list[list[str]] = []
        for layer in range(self.num_layers):
            for suffix in ["", "_reverse"][: self.num_directions]:
                # layer 0 reads the input; later layers read both directions of the one below
                layer_input_size = self.input_size if layer == 0 else h_out * self.num_directions
                shapes = {
                    "weight_ih": (gate_size, layer_input_size),
                    "weight_hh": (gate_size, h_out),
                }
                if self.bias:
                    shapes |= {"bias_ih": (gate_size,), "bias_hh": (gate_size,)}
                if self.proj_size > 0:
                    shapes["weight_hr"] = (self.proj_size, self.hidden_size)
                names = [f"{kind}_l{layer}{suffix}" for kind in shapes]
                for param_name, shape in zip(names, shapes.values(), strict=True):
                    weight = nn.Parameter(torch.empty(shape, **factory_kwargs))
                    self.register_parameter(param_name, weight)
                self._all_weights.append(names)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        # every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in registration order as torch does
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            uniform_(weight, -bound, bound)

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: torch packs weights for cuDNN here; these layers never call cuDNN."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = [
            ("proj_size", 0),
            ("num_layers", 1),
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0),
            ("bidirectional", False),
        ]
        for arg, default in defaults:
            if getattr(self, arg) != default:
                s += f", {arg}={getattr(self, arg)}"
        return s

    def _cell(
        self, x_proj: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None
    ) -> State:
        """One time step; ``x_proj = W_ih x_t + b_ih`` was computed before the loop."""
        raise NotImplementedError

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _check(self, input: Tensor, hx: State | None) -> tuple[bool, State | None]:
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            raise TypeError(
                f"{name}: packed sequences are not supported; pass the padded tensor instead "
                "(torch.nn.utils.rnn.pad_packed_sequence) and read each sequence's output at its "
                "own length"
            )
        check_float(name, "input", input)
        layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        check_rank(name, "input", input, (3, 2), f"{layout} or unbatched (L, H_in)")
        same_dtype_device(name, input, self.weight_ih_l0)
        check_size(
            name, "input features input.size(-1) (input_size)", input.size(-1), self.input_size
        )
        batched = input.dim() == 3
        if hx is None:
            return batched, None
        n = input.size(0 if self.batch_first else 1)
        for state_name, state, size in zip(self._state_names, hx, self._state_sizes(), strict=True):
            check_float(name, state_name, state)
            if state.dtype != input.dtype:
                raise TypeError(
                    f"{name}: expected {state_name} of dtype {input.dtype} (the input's), "
                    f"got {state.dtype}"
                )
            expected = (
                (self.num_layers * self.num_directions, n, size)
                if batched
                else (self.num_layers * self.num_directions, size)
            )
            if tuple(state.shape) == expected:
                continue
            if batched and state.dim() == 3 and state.size(1) != n:
                raise ValueError(
                    f"{name}: batch size of {state_name} ({state.size(1)}) does not match the "
                    f"input's batch size ({n})"
                )
            raise ValueError(
                f"{name}: expected {state_name} of shape {expected}, got {tuple(state.shape)}"
            )
        return batched, hx

    def _run(self, input: Tensor, hx: State | None) -> tuple[Tensor, State]:
        batched, hx = self._check(input, hx)
        x = input if batched else input.unsqueeze(0 if self.batch_first else 1)
        x = x.transpose(0, 1) if self.batch_first else x  # (L, N, H_in)
        seq_len, n = x.shape[:2]
        if hx is None:
            hx = tuple(
                x.new_zeros(self.num_layers * self.num_directions, n, size)
                for size in self._state_sizes()
            )
        elif not batched:
            hx = tuple(state.unsqueeze(1) for state in hx)  # (layers * directions, N, H)

        final: list[State] = []  # the last state of each (layer, direction), in h_n's order
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(["", "_reverse"][: self.num_directions]):
                k = layer * self.num_directions + direction
                p = {
                    kind: getattr(self, f"{kind}_l{layer}{suffix}", None)
                    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                }
                # the reverse direction reads the sequence backwards, t = L-1, ..., 0
                seq = x if direction == 0 else x.flip(0)  # (L, N, H_in)
                # fast path: W_ih x_t + b_ih for all t at once
                x_proj = linear(seq, p["weight_ih"], p["bias_ih"])  # (L, N, gates * H)
                state = tuple(s[k] for s in hx)  # each (N, H)
                ys = []
                for t in range(seq_len):
                    state = self._cell(
                        x_proj[t], state, p["weight_hh"], p["bias_hh"], p["weight_hr"]
                    )
                    ys.append(state[0])
                y = torch.stack(ys)  # (L, N, H_out)
                outputs.append(y if direction == 0 else y.flip(0))
                final.append(state)
            x = torch.cat(outputs, dim=-1)  # (L, N, directions * H_out)
            if layer < self.num_layers - 1:
                # between layers, in training: x * m / (1 - p), m ~ Bernoulli(1 - p)
                x = dropout(x, self.dropout, self.training)

        output = x.transpose(0, 1) if self.batch_first else x  # back to (N, L, ...) if batch_first
        # h_n (and c_n): each (layers * directions, N, H)
        h_n = tuple(torch.stack([s[i] for s in final]) for i in range(len(hx)))
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n = tuple(s.squeeze(1) for s in h_n)
        return output, h_n


class RNN(_RecurrentBase):
    r"""Elman RNN: each layer, at each time step,

    .. math:: h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),
              \qquad \phi = \tanh \text{ or } \mathrm{ReLU}.

    Layer ``k > 0`` reads the outputs of layer ``k - 1`` (both directions concatenated),
    with dropout between layers in training. The input projection of all time steps is
    computed at once (the fast path); the recurrence runs one step at a time.

    Args:
        input_size: number of features of each input step, ``H_in``.
        hidden_size: number of features of the hidden state, ``H``.
        num_layers: number of stacked layers; layer ``k > 0`` reads the output of layer
            ``k - 1``. Default: 1.
        nonlinearity: ``'tanh'`` or ``'relu'``, the :math:`\phi` above. Default: ``'tanh'``.
        bias: if ``False``, no ``bias_ih`` / ``bias_hh``. Default: ``True``.
        batch_first: if ``True``, input and output are ``(N, L, feature)`` instead of
            ``(L, N, feature)``; the states keep their layout. Default: ``False``.
        dropout: probability of zeroing each output of every layer but the last, in
            training (inverted dropout). Default: 0.
        bidirectional: if ``True``, each layer also reads the sequence backwards and
            concatenates both directions (``D = 2``). Default: ``False``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` if ``batch_first``, or ``(L, H_in)``
        - hx: ``(D * num_layers, N, H)`` or ``(D * num_layers, H)``; zeros if omitted
        - output: ``(L, N, D * H)`` (``(N, L, D * H)`` if ``batch_first``, ``(L, D * H)`` unbatched)
        - h_n: like hx, the last step of each layer and direction; ``D = 2`` if bidirectional.

    Examples::

        >>> import torch, scratch
        >>> rnn = scratch.RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"{type(self).__name__}: expected nonlinearity 'tanh' or 'relu', "
                f"got {nonlinearity!r}"
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        args = (input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(mode, *args, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def _cell(self, x_proj, state, w_hh, b_hh, w_hr):
        (h,) = state
        phi = tanh if self.nonlinearity == "tanh" else relu
        # h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        return (phi(x_proj + linear(h, w_hh, b_hh)),)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(input, None if hx is None else (hx,))
        return output, h_n


class LSTM(_RecurrentBase):
    r"""Long short-term memory: each layer, at each time step (gates in torch's order i, f, g, o),

    .. math::
        i = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}), \quad
        f = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}),

        g = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}), \quad
        o = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}),

        c_t = f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t),

    and with ``proj_size > 0``, :math:`h_t = W_{hr} (o \odot \tanh(c_t))`. Stacking,
    bidirectionality, dropout and the fast path are as in :class:`RNN`.

    Args:
        input_size: number of features of each input step, ``H_in``.
        hidden_size: number of features of the cell state ``c``, ``H``.
        num_layers: number of stacked layers; layer ``k > 0`` reads the output of layer
            ``k - 1``. Default: 1.
        bias: if ``False``, no ``bias_ih`` / ``bias_hh``. Default: ``True``.
        batch_first: if ``True``, input and output are ``(N, L, feature)`` instead of
            ``(L, N, feature)``; the states keep their layout. Default: ``False``.
        dropout: probability of zeroing each output of every layer but the last, in
            training (inverted dropout). Default: 0.
        bidirectional: if ``True``, each layer also reads the sequence backwards and
            concatenates both directions (``D = 2``). Default: ``False``.
        proj_size: if ``> 0``, project each ``h_t`` down to ``proj_size`` features with
            ``weight_hr``; must be ``< hidden_size``. Default: 0 (no projection).
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` if ``batch_first``, or ``(L, H_in)``
        - hx = (h_0, c_0): ``(D * num_layers, N, H_out)`` and ``(D * num_layers, N, H)``
          (without ``N`` if unbatched); zeros if omitted. ``H_out = proj_size or H``.
        - output: ``(L, N, D * H_out)`` (batch first / unbatched as the input)
        - (h_n, c_n): like (h_0, c_0), the last step of each layer and direction.

    Examples::

        >>> import torch, scratch
        >>> lstm = scratch.LSTM(10, 20, num_layers=2, proj_size=5)
        >>> output, (h_n, c_n) = lstm(torch.randn(5, 3, 10))
        >>> output.shape, h_n.shape, c_n.shape
        (torch.Size([5, 3, 5]), torch.Size([2, 3, 5]), torch.Size([2, 3, 20]))
    """

    _gates, _state_names = 4, ("h_0", "c_0")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        args = (input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__("LSTM", *args, proj_size, device, dtype)

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _cell(self, x_proj, state, w_hh, b_hh, w_hr):
        h, c = state
        # [i, f, g, o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, split into 4 blocks of (N, H)
        i, f, g, o = (x_proj + linear(h, w_hh, b_hh)).chunk(4, dim=-1)
        # c_t = sigma(f) * c_{t-1} + sigma(i) * tanh(g)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        # h_t = sigma(o) * tanh(c_t)
        h = sigmoid(o) * tanh(c)
        # projection (proj_size > 0): h_t = W_hr h_t, (N, H) -> (N, proj_size)
        return (h if w_hr is None else h @ w_hr.T), c

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(
                f"{type(self).__name__}: expected hx to be a tuple (h_0, c_0) of two tensors, "
                f"got {type(hx).__name__}"
            )
        output, (h_n, c_n) = self._run(input, None if hx is None else tuple(hx))
        return output, (h_n, c_n)


class GRU(_RecurrentBase):
    r"""Gated recurrent unit: each layer, at each time step (gates in torch's order r, z, n),

    .. math::
        r = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \quad
        z = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}),

        n = \tanh(W_{in} x_t + b_{in} + r \odot (W_{hn} h_{t-1} + b_{hn})), \qquad
        h_t = (1 - z) \odot n + z \odot h_{t-1}.

    Note ``r`` gates ``W_hn h + b_hn`` *after* the product, as torch (and cuDNN) do.
    Stacking, bidirectionality, dropout and the fast path are as in :class:`RNN`.

    Args:
        input_size: number of features of each input step, ``H_in``.
        hidden_size: number of features of the hidden state, ``H``.
        num_layers: number of stacked layers; layer ``k > 0`` reads the output of layer
            ``k - 1``. Default: 1.
        bias: if ``False``, no ``bias_ih`` / ``bias_hh``. Default: ``True``.
        batch_first: if ``True``, input and output are ``(N, L, feature)`` instead of
            ``(L, N, feature)``; the states keep their layout. Default: ``False``.
        dropout: probability of zeroing each output of every layer but the last, in
            training (inverted dropout). Default: 0.
        bidirectional: if ``True``, each layer also reads the sequence backwards and
            concatenates both directions (``D = 2``). Default: ``False``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` if ``batch_first``, or ``(L, H_in)``
        - hx: ``(D * num_layers, N, H)`` or ``(D * num_layers, H)``; zeros if omitted
        - output: ``(L, N, D * H)`` (batch first / unbatched as the input)
        - h_n: like hx, the last step of each layer and direction.

    Examples::

        >>> import torch, scratch
        >>> gru = scratch.GRU(10, 20, batch_first=True, bidirectional=True)
        >>> output, h_n = gru(torch.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        (torch.Size([3, 5, 40]), torch.Size([2, 3, 20]))
    """

    _gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        args = (input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__("GRU", *args, 0, device, dtype)

    def _cell(self, x_proj, state, w_hh, b_hh, w_hr):
        (h,) = state
        x_r, x_z, x_n = x_proj.chunk(3, dim=-1)  # W_i* x_t + b_i*, each (N, H)
        # W_h* h_{t-1} + b_h*, each (N, H)
        hw_r, hw_z, hw_n = linear(h, w_hh, b_hh).chunk(3, dim=-1)
        # r = sigma(W_ir x + b_ir + W_hr h + b_hr)
        r = sigmoid(x_r + hw_r)
        # z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        z = sigmoid(x_z + hw_z)
        # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        n = tanh(x_n + r * hw_n)
        # h_t = (1 - z) * n + z * h_{t-1}
        return ((1 - z) * n + z * h,)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(input, None if hx is None else (hx,))
        return output, h_n


__all__ = ["GRU", "LSTM", "RNN"]
