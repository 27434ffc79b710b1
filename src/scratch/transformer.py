r"""Transformer layers (Vaswani et al., 2017) and the sinusoidal positional encoding.

An encoder layer is two residual sub-layers, each wrapped in dropout and LayerNorm:

.. math::
    x \leftarrow \operatorname{LN}(x + \operatorname{SelfAttn}(x)), \qquad
    x \leftarrow \operatorname{LN}(x + \operatorname{FF}(x)), \qquad
    \operatorname{FF}(x) = W_2\,\phi(W_1 x + b_1) + b_2

(post-norm, the paper's order). With ``norm_first=True`` the norm moves inside the
residual branch, :math:`x \leftarrow x + \operatorname{SelfAttn}(\operatorname{LN}(x))`
(pre-norm, Xiong et al., 2020): the identity path is then untouched from input to
output, which is what lets deep stacks train without warm-up. A decoder layer adds a
third sub-layer between the two, cross-attention from the target to the encoder's
``memory``.

Attention is permutation-equivariant: shuffle the tokens and the outputs shuffle the
same way. Word order enters only through a positional encoding added to the input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ._checks import check_float, check_probability
from .activation import gelu, relu
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm

__all__ = ["PositionalEncoding", "TransformerDecoderLayer", "TransformerEncoderLayer"]


def _get_activation_fn(layer: str, activation: str | Callable[[Tensor], Tensor]) -> Callable:
    """'relu' / 'gelu' -> the function; a callable passes through."""
    if isinstance(activation, str):
        if activation == "relu":
            return relu
        if activation == "gelu":
            return gelu
        raise ValueError(
            f"{layer}: expected activation 'relu', 'gelu' or a callable, got {activation!r}"
        )
    if not callable(activation):
        raise TypeError(
            f"{layer}: expected activation 'relu', 'gelu' or a callable, "
            f"got {type(activation).__name__}"
        )
    return activation


def _check_seq(layer: str, name: str, x: Tensor, d_model: int, batch_first: bool) -> None:
    check_float(layer, name, x)
    layout = "(N, T, d_model)" if batch_first else "(T, N, d_model)"
    if x.dim() not in (2, 3):
        raise ValueError(
            f"{layer}: expected {name} of shape {layout} (3-D) or (T, d_model) (2-D, unbatched), "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )
    if x.shape[-1] != d_model:
        raise ValueError(
            f"{layer}: expected {name}.shape[-1] = d_model = {d_model}, got shape {tuple(x.shape)}"
        )


@contextmanager
def _errors_named(owner: nn.Module, attr: str) -> Iterator[None]:
    """Name a sub-layer's ``ValueError`` / ``TypeError`` by where it sits: ``MultiheadAttention:
    expected ...`` raised by ``owner.self_attn`` becomes ``TransformerEncoderLayer.self_attn:
    expected ...``, so the message says which attention of which layer refused the input."""
    prefix = f"{type(getattr(owner, attr)).__name__}: "
    try:
        yield
    except (ValueError, TypeError) as err:
        message = str(err)
        if not message.startswith(prefix):
            raise
        renamed = f"{type(owner).__name__}.{attr}: {message[len(prefix) :]}"
        raise type(err)(renamed).with_traceback(err.__traceback__) from None


class TransformerEncoderLayer(nn.Module):
    r"""Self-attention then a position-wise feed-forward network, each residual + LayerNorm.

    .. math::
        \text{post-norm:}\quad x \leftarrow \operatorname{LN}_1(x + \operatorname{SA}(x)),\;
        x \leftarrow \operatorname{LN}_2(x + \operatorname{FF}(x))
        \qquad
        \text{pre-norm:}\quad x \leftarrow x + \operatorname{SA}(\operatorname{LN}_1 x),\;
        x \leftarrow x + \operatorname{FF}(\operatorname{LN}_2 x)

    with :math:`\operatorname{FF}(x) = W_2\,\mathrm{drop}(\phi(W_1 x + b_1)) + b_2` and
    dropout on each branch's output. ``src_mask`` / ``src_key_padding_mask`` follow
    :class:`MultiheadAttention` (bool ``True`` = ignore). Torch may take a fused
    inference "fast path" in eval mode; this layer always runs the formula above.

    Args:
        d_model: width :math:`E` of every token's vector.
        nhead: number of attention heads; must divide ``d_model``.
        dim_feedforward: hidden width of the feed-forward network. Default: 2048.
        dropout: dropout probability on the attention weights, inside the feed-forward
            network and on each branch's output, in training. Default: 0.1.
        activation: :math:`\phi`, ``"relu"``, ``"gelu"`` or a callable. Default: ReLU.
        layer_norm_eps: the ``eps`` of every LayerNorm. Default: 1e-5.
        batch_first: if ``True``, sequences are (N, T, E) instead of (T, N, E).
            Default: ``False``.
        norm_first: if ``True``, pre-norm (LayerNorm inside each residual branch);
            else post-norm. Default: ``False``.
        bias: if ``False``, no biases in the Linear, attention and LayerNorm layers.
            Default: ``True``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - src: :math:`(T, N, E)`, or :math:`(N, T, E)` if ``batch_first``, or :math:`(T, E)`
        - Output: same as src

    Examples::

        >>> import torch, scratch
        >>> layer = scratch.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> layer(torch.randn(10, 2, 16)).shape
        torch.Size([10, 2, 16])
    """

    __constants__ = ["norm_first"]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        name = type(self).__name__
        check_probability(name, "dropout", dropout)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory_kwargs
        )
        # feed-forward: d_model -> dim_feedforward -> d_model
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory_kwargs)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory_kwargs)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory_kwargs)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory_kwargs)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _get_activation_fn(name, activation)

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        _check_seq(
            type(self).__name__, "src", src, self.self_attn.embed_dim, self.self_attn.batch_first
        )
        x = src
        if self.norm_first:
            # x + SA(LN1(x)), then x + FF(LN2(x))
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            # LN1(x + SA(x)), then LN2(x + FF(x))
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool = False) -> Tensor:
        # drop(SA(x)): queries, keys and values all come from x
        masks = dict(attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal)
        with _errors_named(self, "self_attn"):
            x, _ = self.self_attn(x, x, x, need_weights=False, **masks)
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        # drop(W2 drop(phi(W1 x + b1)) + b2), applied to every position alone
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(nn.Module):
    r"""Masked self-attention, cross-attention to ``memory``, feed-forward; each residual + LN.

    .. math::
        x \leftarrow \operatorname{LN}_1(x + \operatorname{SA}(x)),\;
        x \leftarrow \operatorname{LN}_2(x + \operatorname{CA}(x, m)),\;
        x \leftarrow \operatorname{LN}_3(x + \operatorname{FF}(x))

    (post-norm; with ``norm_first`` each LN moves inside its branch, as in the encoder).
    Cross-attention takes its queries from the target and its keys and values from the
    encoder output :math:`m`; ``tgt_mask`` is usually causal so position :math:`t` sees
    only targets :math:`\le t`. The masks follow :class:`MultiheadAttention` (bool
    ``True`` = ignore); ``tgt_is_causal`` / ``memory_is_causal`` are hints, as there.

    Args:
        d_model: width :math:`E` of every token's vector.
        nhead: number of attention heads; must divide ``d_model``.
        dim_feedforward: hidden width of the feed-forward network. Default: 2048.
        dropout: dropout probability on the attention weights, inside the feed-forward
            network and on each branch's output, in training. Default: 0.1.
        activation: :math:`\phi`, ``"relu"``, ``"gelu"`` or a callable. Default: ReLU.
        layer_norm_eps: the ``eps`` of every LayerNorm. Default: 1e-5.
        batch_first: if ``True``, sequences are (N, T, E) instead of (T, N, E).
            Default: ``False``.
        norm_first: if ``True``, pre-norm (LayerNorm inside each residual branch);
            else post-norm. Default: ``False``.
        bias: if ``False``, no biases in the Linear, attention and LayerNorm layers.
            Default: ``True``.
        device, dtype: where and in which floating-point type the parameters are created.

    Shape:
        - tgt: :math:`(T, N, E)`, or :math:`(N, T, E)` if ``batch_first``, or :math:`(T, E)`
        - memory: :math:`(S, N, E)` (same layout as tgt)
        - Output: same as tgt

    Examples::

        >>> import torch, scratch
        >>> layer = scratch.TransformerDecoderLayer(16, 4, dim_feedforward=32, batch_first=True)
        >>> layer(torch.randn(2, 7, 16), memory=torch.randn(2, 10, 16)).shape
        torch.Size([2, 7, 16])
    """

    __constants__ = ["norm_first"]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        name = type(self).__name__
        check_probability(name, "dropout", dropout)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **factory_kwargs
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **factory_kwargs
        )
        # feed-forward: d_model -> dim_feedforward -> d_model
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory_kwargs)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory_kwargs)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory_kwargs)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory_kwargs)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory_kwargs)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _get_activation_fn(name, activation)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        name, e, bf = type(self).__name__, self.self_attn.embed_dim, self.self_attn.batch_first
        _check_seq(name, "tgt", tgt, e, bf)
        _check_seq(name, "memory", memory, e, bf)
        if memory.dim() != tgt.dim():
            raise ValueError(
                f"{name}: expected memory {tgt.dim()}-D like tgt, got tgt of shape "
                f"{tuple(tgt.shape)} and memory of shape {tuple(memory.shape)}"
            )
        x = tgt
        if self.norm_first:
            # x + SA(LN1 x), x + CA(LN2 x, m), x + FF(LN3 x)
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            # LN1(x + SA(x)), LN2(x + CA(x, m)), LN3(x + FF(x))
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x
                + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool = False) -> Tensor:
        # drop(SA(x)): the target attends to itself
        masks = dict(attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal)
        with _errors_named(self, "self_attn"):
            x, _ = self.self_attn(x, x, x, need_weights=False, **masks)
        return self.dropout1(x)

    def _mha_block(
        self, x: Tensor, mem: Tensor, attn_mask, key_padding_mask, is_causal: bool = False
    ) -> Tensor:
        # drop(CA(x, m)): queries from the target, keys and values from the memory
        masks = dict(attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal)
        with _errors_named(self, "multihead_attn"):
            x, _ = self.multihead_attn(x, mem, mem, need_weights=False, **masks)
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        # drop(W2 drop(phi(W1 x + b1)) + b2)
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def sinusoidal_table(max_len: int, d_model: int) -> Tensor:
    r"""The (max_len, d_model) table of sinusoidal position codes.

    :math:`PE_{p, 2i} = \sin(p\,\omega_i)`, :math:`PE_{p, 2i+1} = \cos(p\,\omega_i)`,
    :math:`\omega_i = 10000^{-2i/d}`: wavelengths from :math:`2\pi` to :math:`10000 \cdot 2\pi`.

    Examples::

        >>> from scratch.transformer import sinusoidal_table
        >>> sinusoidal_table(3, 4)
        tensor([[ 0.0000,  1.0000,  0.0000,  1.0000],
                [ 0.8415,  0.5403,  0.0100,  0.9999],
                [ 0.9093, -0.4161,  0.0200,  0.9998]])
    """
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (max_len, 1)
    # omega_i = 10000^(-2i / d) = exp(-2i ln(10000) / d), i = 0 .. ceil(d/2) - 1
    omega = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )
    angle = pos * omega  # (max_len, ceil(d/2))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angle)  # even columns: sin(p omega_i)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])  # odd columns: cos(p omega_i)
    return pe


class PositionalEncoding(nn.Module):
    r"""Add the fixed sinusoidal position code of Vaswani et al. (2017), then dropout.

    .. math::
        PE_{p,\,2i} = \sin(p\,\omega_i), \quad PE_{p,\,2i+1} = \cos(p\,\omega_i), \quad
        \omega_i = 10000^{-2i/d_\text{model}}

    Each pair of columns is a point turning on a circle at its own speed, so shifting
    the position by :math:`k` is a fixed rotation by :math:`k\omega_i` of every pair:
    :math:`PE_{p+k} = R_k\,PE_p` with :math:`R_k` independent of :math:`p`. No torch twin
    (``torch.nn`` has none); the table ``pe`` (max_len, d_model) is a non-persistent
    buffer, so it is absent from ``state_dict``.

    Args:
        d_model: width :math:`E` of the input vectors (and of the code).
        max_len: longest sequence the table covers. Default: 5000.
        dropout: dropout probability on the sum, in training. Default: 0.
        batch_first: if ``True``, the input is (N, T, E) instead of (T, N, E).
            Default: ``False``.

    Shape:
        - Input: :math:`(T, N, E)`, or :math:`(N, T, E)` if ``batch_first``, or :math:`(T, E)`;
          :math:`T \le` ``max_len``, :math:`E` = ``d_model``
        - Output: same as input

    Examples::

        >>> import torch, scratch
        >>> pe = scratch.PositionalEncoding(4, max_len=100)
        >>> pe(torch.zeros(3, 4))  # a zero input shows the code itself: row p is PE_p
        tensor([[ 0.0000,  1.0000,  0.0000,  1.0000],
                [ 0.8415,  0.5403,  0.0100,  0.9999],
                [ 0.9093, -0.4161,  0.0200,  0.9998]])
    """

    pe: Tensor

    def __init__(
        self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = False
    ) -> None:
        super().__init__()
        if d_model <= 0 or max_len <= 0:
            raise ValueError(
                f"{type(self).__name__}: expected d_model > 0 and max_len > 0, "
                f"got d_model={d_model}, max_len={max_len}"
            )
        self.d_model = d_model
        self.max_len = max_len
        self.batch_first = batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        _check_seq(name, "input", x, self.d_model, self.batch_first)
        seq = 1 if (x.dim() == 3 and self.batch_first) else 0
        T = x.shape[seq]
        if T > self.max_len:
            raise ValueError(
                f"{name}: expected sequence length <= max_len = {self.max_len}, got {T}"
            )
        pe = self.pe[:T].to(x.dtype)  # (T, E)
        if x.dim() == 3 and not self.batch_first:
            pe = pe.unsqueeze(1)  # (T, 1, E): the same code for every sequence in the batch
        # x + PE, broadcast over the batch
        return self.dropout(x + pe)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"
