r"""Scaled dot-product attention and multi-head attention (Vaswani et al., 2017).

A query asks "which of the keys look like me?"; the answer is a softmax over their
dot products, and the output is the matching average of the values:

.. math::
    \operatorname{Attention}(Q, K, V)
    = \operatorname{softmax}\!\Big(\frac{QK^\top}{\sqrt{E}} + M\Big) V

with :math:`Q \in \mathbb{R}^{L \times E}` (L queries), :math:`K \in \mathbb{R}^{S \times E}`,
:math:`V \in \mathbb{R}^{S \times E_v}` (S key/value pairs) and an additive mask :math:`M`
(0 where a query may look, :math:`-\infty` where it may not). Dividing by
:math:`\sqrt{E}` keeps the logits' variance near 1 whatever the head width, so the
softmax does not saturate.

Two mask conventions, both torch's, and opposite for boolean masks:

* ``scaled_dot_product_attention`` (and ``attention_weights``): ``True`` = *may attend*.
* ``MultiheadAttention`` (``attn_mask``, ``key_padding_mask``): ``True`` = *ignore*.

A float mask is added to the logits in both.

A query row that may attend nowhere (its logits all :math:`-\infty`) has the softmax
:math:`0/0`. Here it gets weights 0 and output 0 (gradient 0), as torch's
``F.scaled_dot_product_attention`` does. Torch's ``MultiheadAttention`` is not
consistent there: with ``need_weights=False`` it also returns 0 (it calls SDPA), with
``need_weights=True`` or on its inference fast path it returns NaN. We return 0 in
every case.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_float, check_probability, check_tensor, same_dtype_device
from .activation import softmax
from .dropout import dropout
from .init import constant_, xavier_normal_, xavier_uniform_
from .linear import Linear, linear

__all__ = ["MultiheadAttention", "attention_weights", "scaled_dot_product_attention"]

_SDPA = "scaled_dot_product_attention"


# ------------------------------------------------------------------------ the function
def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last axis; a row of all -inf (nothing to attend to) gives 0s, not NaN."""
    dead = (scores == float("-inf")).all(dim=-1, keepdim=True)
    # softmax(s)_j = e^{s_j} / sum_k e^{s_k}, on a dead row 0/0: take 0 instead
    return softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)


def _check_qkv(layer: str, query: Tensor, key: Tensor, value: Tensor | None) -> None:
    named = [("query", query), ("key", key)] + ([("value", value)] if value is not None else [])
    for name, x in named:
        check_float(layer, name, x)
        if x.dim() < 2:
            raise ValueError(
                f"{layer}: expected {name} of shape (*, {'L' if name == 'query' else 'S'}, E) "
                f"(at least 2-D), got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
            )
        if x.dtype != query.dtype:
            raise TypeError(
                f"{layer}: expected {name} of dtype {query.dtype} (query's), got {x.dtype}"
            )
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(
            f"{layer}: expected key.shape[-1] = query.shape[-1] = {query.shape[-1]} (E), "
            f"got key of shape {tuple(key.shape)}"
        )
    if value is not None and value.shape[-2] != key.shape[-2]:
        raise ValueError(
            f"{layer}: expected key and value of the same length S, got key of shape "
            f"{tuple(key.shape)} (S = {key.shape[-2]}) and value of shape {tuple(value.shape)} "
            f"(S = {value.shape[-2]})"
        )


def _repeat_kv_heads(layer: str, query: Tensor, x: Tensor, name: str) -> Tensor:
    """Grouped-query attention: share each of H_kv key/value heads among H_q / H_kv query heads."""
    if query.dim() < 3 or x.dim() < 3:
        raise ValueError(f"{layer}: enable_gqa needs a heads axis: (*, H, L, E) query and {name}")
    hq, hkv = query.shape[-3], x.shape[-3]
    if hq % hkv:
        raise ValueError(
            f"{layer}: with enable_gqa, expected the query heads ({hq}) to be a multiple of "
            f"the {name} heads, got {hkv}"
        )
    # (*, H_kv, S, E) -> (*, H_q, S, E): head h of the query reads kv head h // (H_q / H_kv)
    return x.repeat_interleave(hq // hkv, dim=-3)


def _check_attn_mask(attn_mask: Tensor | None, is_causal: bool, shape: torch.Size) -> None:
    """SDPA's mask rules: none with ``is_causal``; bool or float; broadcastable to (*, L, S)."""
    if is_causal and attn_mask is not None:
        raise ValueError(
            f"{_SDPA}: expected attn_mask=None when is_causal=True (the causal mask is built "
            f"here), got an attn_mask of shape {tuple(attn_mask.shape)}"
        )
    if attn_mask is None:
        return
    check_tensor(_SDPA, "attn_mask", attn_mask)
    if attn_mask.dtype != torch.bool and not attn_mask.is_floating_point():
        raise TypeError(
            f"{_SDPA}: expected a bool or floating-point attn_mask, got {attn_mask.dtype}"
        )
    try:
        torch.broadcast_shapes(attn_mask.shape, shape)
    except RuntimeError:
        raise ValueError(
            f"{_SDPA}: expected attn_mask broadcastable to (*, L, S) = {tuple(shape)}, "
            f"got shape {tuple(attn_mask.shape)}"
        ) from None


def attention_weights(
    query: Tensor,
    key: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    r"""The attention matrix :math:`A = \operatorname{softmax}(QK^\top \cdot \text{scale} + M)`.

    Row :math:`i` says how query :math:`i` spreads its attention over the S keys: it is
    non-negative and sums to 1 (or is all 0 where the mask leaves nothing to attend to).
    ``scaled_dot_product_attention`` is :math:`A V`.

    Args:
        attn_mask, is_causal, scale, enable_gqa: as in :func:`scaled_dot_product_attention`
            (bool mask: ``True`` = *may attend*).

    Shape:
        - query: :math:`(*, L, E)`, key: :math:`(*, S, E)`
        - attn_mask: broadcastable to :math:`(*, L, S)`
        - Output: :math:`(*, L, S)`

    Examples::

        >>> import torch
        >>> from scratch.attention import attention_weights
        >>> A = attention_weights(torch.randn(2, 4, 8), torch.randn(2, 6, 8), is_causal=True)
        >>> A.shape, A[0, 0].tolist()  # query 0 sees key 0 only
        (torch.Size([2, 4, 6]), [1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    """
    _check_qkv(_SDPA, query, key, None)
    L, S = query.shape[-2], key.shape[-2]
    if enable_gqa:
        key = _repeat_kv_heads(_SDPA, query, key, "key")
    _check_attn_mask(attn_mask, is_causal, query.shape[:-2] + (L, S))
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale

    # logits s_ij = <q_i, k_j> * scale: (*, L, E) @ (*, E, S) -> (*, L, S)
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        # query i may look at keys j <= i (lower triangle, aligned at the top-left corner)
        allowed = torch.ones(L, S, dtype=torch.bool, device=query.device).tril()
        scores = torch.where(allowed, scores, float("-inf"))
    elif attn_mask is not None and attn_mask.dtype == torch.bool:
        # bool mask: True = may attend; s_ij = -inf where it may not
        scores = torch.where(attn_mask, scores, float("-inf"))
    elif attn_mask is not None:
        # float mask: s_ij + M_ij
        scores = scores + attn_mask.to(scores.dtype)
    # A = softmax over the keys (a fully masked row: 0)
    return _safe_softmax(scores)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    r"""Attention :math:`\operatorname{softmax}(QK^\top \cdot \text{scale} + M)\,V`.

    The twin of ``F.scaled_dot_product_attention``.

    Args:
        attn_mask: bool (``True`` = may attend) or float (added to the logits),
            broadcastable to :math:`(*, L, S)`.
        dropout_p: dropout on the attention weights, applied whenever it is > 0 (the
            function has no train/eval mode; pass 0.0 in evaluation).
        is_causal: query :math:`i` attends to keys :math:`j \le i` only; exclusive with
            ``attn_mask``.
        scale: default :math:`1/\sqrt{E}`.
        enable_gqa: grouped-query attention: key and value may have fewer heads (axis -3),
            each shared by :math:`H_q / H_{kv}` query heads.

    A query row with nothing to attend to gets output 0 (torch's behaviour).

    Shape:
        - query: :math:`(*, L, E)`, key: :math:`(*, S, E)`, value: :math:`(*, S, E_v)`
        - Output: :math:`(*, L, E_v)`

    Examples::

        >>> import torch, scratch
        >>> q, k, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 3)
        >>> scratch.scaled_dot_product_attention(q, k, v).shape
        torch.Size([2, 4, 3])
    """
    _check_qkv(_SDPA, query, key, value)
    dropout_p = check_probability(_SDPA, "dropout_p", dropout_p)
    if enable_gqa:
        value = _repeat_kv_heads(_SDPA, query, value, "value")
    weights = attention_weights(query, key, attn_mask, is_causal, scale, enable_gqa)  # (*, L, S)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    # o_i = sum_j A_ij v_j: (*, L, S) @ (*, S, E_v) -> (*, L, E_v)
    return weights @ value


# ----------------------------------------------------------------- MultiheadAttention
def _additive_mask(layer: str, name: str, mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """torch's MHA convention -> additive float mask: bool True (= ignore) -> -inf, False -> 0."""
    if mask is None:
        return None
    check_tensor(layer, name, mask)
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
            mask, float("-inf")
        )
    if not mask.is_floating_point():
        raise TypeError(
            f"{layer}: expected {name} of dtype bool or floating point, got {mask.dtype}"
        )
    return mask.to(dtype)


def _merge_masks(
    mask: Tensor | None, kpm: Tensor | None, N: int, H: int, L: int, S: int
) -> Tensor | None:
    """One additive mask for every (batch, head): attn_mask (1 or N*H, L, S) + key padding
    (N, S), broadcast to (N or 1, H or 1, L or 1, S); None if there is neither."""
    if mask is not None and mask.shape[0] == 1:
        mask = mask.reshape(1, 1, L, S)  # (1, 1, L, S): the same for every batch and head
    elif mask is not None:
        mask = mask.reshape(N, H, L, S)  # (N, H, L, S)
    if kpm is not None:
        kpm = kpm.reshape(N, 1, 1, S)  # (N, 1, 1, S)
        # M = attn_mask + key padding
        mask = kpm if mask is None else mask + kpm  # (N, H or 1, L or 1, S)
    return mask


def _check_heads(layer: str, embed_dim: int, num_heads: int) -> None:
    if embed_dim <= 0 or num_heads <= 0:
        raise ValueError(
            f"{layer}: expected embed_dim > 0 and num_heads > 0, "
            f"got embed_dim={embed_dim} and num_heads={num_heads}"
        )
    if embed_dim % num_heads:
        raise ValueError(
            f"{layer}: expected embed_dim divisible by num_heads, got "
            f"embed_dim={embed_dim} and num_heads={num_heads} ({embed_dim} % {num_heads} "
            f"= {embed_dim % num_heads})"
        )


class MultiheadAttention(nn.Module):
    r"""Multi-head attention: ``num_heads`` attentions side by side on slices of the embedding.

    .. math::
        \operatorname{MultiHead}(Q, K, V) = \operatorname{Concat}(\text{head}_1, \ldots,
        \text{head}_h) W^O, \qquad
        \text{head}_i = \operatorname{Attention}(Q W_i^Q, K W_i^K, V W_i^V)

    Each head works in :math:`d = E / h` dimensions, so the cost is that of one head of
    width :math:`E`. :math:`W^Q, W^K, W^V` are stacked in ``in_proj_weight`` (3E, E)
    (``q_proj_weight`` / ``k_proj_weight`` / ``v_proj_weight`` when ``kdim`` or ``vdim``
    differ from E); :math:`W^O` is ``out_proj``. ``add_bias_kv`` appends a learned key
    and value to every sequence, ``add_zero_attn`` a zero one.

    Masks (torch's MHA convention): bool ``True`` = *ignore* that key, float = added to
    the logits. ``attn_mask`` is (L, S) or (N * num_heads, L, S); ``key_padding_mask``
    is (N, S). ``is_causal`` is only a hint that ``attn_mask`` is causal: the mask is
    required and used. A query whose keys are all masked gets weights 0 and output
    ``out_proj.bias`` (torch: the same with ``need_weights=False``, NaN with
    ``need_weights=True``).

    Args:
        embed_dim: total width :math:`E` of the model; split into ``num_heads`` heads.
        num_heads: number of heads :math:`h`; must divide ``embed_dim``.
        dropout: dropout probability on the attention weights, in training. Default: 0.
        bias: if ``False``, no ``in_proj_bias`` and no ``out_proj.bias``. Default: ``True``.
        add_bias_kv: append the learned ``bias_k`` / ``bias_v`` to the keys and values.
            Default: ``False``.
        add_zero_attn: append an all-zero key and value (after ``bias_k`` / ``bias_v``).
            Default: ``False``.
        kdim, vdim: number of features of the keys and values. Default: ``embed_dim``.
        batch_first: if ``True``, inputs and output are (N, L, E). Default: ``False``.
        device, dtype: where and in which floating-point type the parameters are created.

    Forward args:
        key_padding_mask: (N, S), ``True`` (or -inf) on the keys that are padding.
        need_weights: if ``False``, return ``None`` for the weights (the output is the same).
        attn_mask: (L, S) or (N * num_heads, L, S), ``True`` (or -inf) where a query may
            not look.
        average_attn_weights: if ``True``, average the weights over the heads.
        is_causal: a hint that ``attn_mask`` is causal; the mask is still required.

    Shape:
        - query: :math:`(L, N, E)`, or :math:`(N, L, E)` if ``batch_first``, or :math:`(L, E)`
        - key: :math:`(S, N, E_k)`, value: :math:`(S, N, E_v)` (same layouts)
        - Output: :math:`(L, N, E)` (query's layout) and weights :math:`(N, L, S)`, or
          :math:`(N, h, L, S)` if not ``average_attn_weights`` (no N if unbatched), or None

    Examples::

        >>> import torch, scratch
        >>> mha = scratch.MultiheadAttention(16, num_heads=4)
        >>> x = torch.randn(5, 2, 16)  # (L, N, E)
        >>> out, weights = mha(x, x, x)
        >>> out.shape, weights.shape
        (torch.Size([5, 2, 16]), torch.Size([2, 5, 5]))
    """

    __constants__ = ["batch_first"]
    bias_k: Tensor | None
    bias_v: Tensor | None

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        _check_heads(type(self).__name__, embed_dim, num_heads)
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads

        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(
                torch.empty((3 * embed_dim, embed_dim), **factory_kwargs)
            )
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = nn.Parameter(torch.empty((embed_dim, embed_dim), **factory_kwargs))
            self.k_proj_weight = nn.Parameter(torch.empty((embed_dim, self.kdim), **factory_kwargs))
            self.v_proj_weight = nn.Parameter(torch.empty((embed_dim, self.vdim), **factory_kwargs))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, **factory_kwargs))
        else:
            self.register_parameter("in_proj_bias", None)
        # Linear draws its own (kaiming) init here, before _reset_parameters: torch's order
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory_kwargs)
        if add_bias_kv:
            self.bias_k = nn.Parameter(torch.empty((1, 1, embed_dim), **factory_kwargs))
            self.bias_v = nn.Parameter(torch.empty((1, 1, embed_dim), **factory_kwargs))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # Glorot-uniform projections, zero biases, Glorot-normal bias_k / bias_v
        if self._qkv_same_embed_dim:
            xavier_uniform_(self.in_proj_weight)
        else:
            xavier_uniform_(self.q_proj_weight)
            xavier_uniform_(self.k_proj_weight)
            xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            constant_(self.in_proj_bias, 0.0)
            constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            xavier_normal_(self.bias_v)

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        layer = type(self).__name__
        for name, x in (("query", query), ("key", key), ("value", value)):
            check_float(layer, name, x)
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if query.dim() not in (2, 3):
            raise ValueError(
                f"{layer}: expected query of shape {layout} (3-D) or (L, E) (2-D, unbatched), "
                f"got a {query.dim()}-D tensor of shape {tuple(query.shape)}"
            )
        if key.dim() != query.dim() or value.dim() != query.dim():
            raise ValueError(
                f"{layer}: expected key and value {query.dim()}-D like query, got key of shape "
                f"{tuple(key.shape)} and value of shape {tuple(value.shape)}"
            )
        for name, x, size, what in (
            ("query", query, self.embed_dim, "embed_dim"),
            ("key", key, self.kdim, "kdim"),
            ("value", value, self.vdim, "vdim"),
        ):
            if x.shape[-1] != size:
                raise ValueError(
                    f"{layer}: expected {name}.shape[-1] = {what} = {size}, "
                    f"got {name} of shape {tuple(x.shape)}"
                )
        seq = 1 if (self.batch_first and query.dim() == 3) else 0
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"{layer}: expected key and value of the same length and batch size, got key of "
                f"shape {tuple(key.shape)} and value of shape {tuple(value.shape)}"
            )
        if query.dim() == 3 and query.shape[1 - seq] != key.shape[1 - seq]:
            raise ValueError(
                f"{layer}: expected query and key of the same batch size, got query of shape "
                f"{tuple(query.shape)} and key of shape {tuple(key.shape)}"
            )
        weight = self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight
        same_dtype_device(layer, query, weight)

    def _additive_masks(
        self,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
        is_causal: bool,
        query: Tensor,
        S: int,
        batched: bool,
    ) -> tuple[Tensor | None, Tensor | None]:
        """Validate the masks and turn them into additive float masks (0 = attend,
        -inf = ignore): key padding of shape (N, S) and attn_mask of shape (1 or N*H, L, S).
        ``query`` is already (L, N, E); S is the key length."""
        layer = type(self).__name__
        L, N, _ = query.shape
        H = self.num_heads
        if is_causal and attn_mask is None:
            raise ValueError(
                f"{layer}: is_causal=True is a hint that attn_mask is causal; expected an "
                "attn_mask of shape (L, S) with it, got None"
            )
        if (
            key_padding_mask is not None
            and attn_mask is not None
            and isinstance(key_padding_mask, Tensor)
            and isinstance(attn_mask, Tensor)
            and key_padding_mask.dtype != attn_mask.dtype
        ):
            warnings.warn(
                "Support for mismatched key_padding_mask and attn_mask is deprecated. "
                "Use same type for both instead.",
                stacklevel=2,
            )
        kpm = _additive_mask(layer, "key_padding_mask", key_padding_mask, query.dtype)
        if kpm is not None:
            expected = (N, S) if batched else (S,)
            if tuple(kpm.shape) != expected:
                layout = "(N, S)" if batched else "(S,)"
                raise ValueError(
                    f"{layer}: expected key_padding_mask of shape {layout} = {expected}, "
                    f"got shape {tuple(kpm.shape)}"
                )
            kpm = kpm.reshape(N, S)  # (N, S)
        mask = _additive_mask(layer, "attn_mask", attn_mask, query.dtype)
        if mask is not None:
            if mask.dim() == 2 and tuple(mask.shape) == (L, S):
                mask = mask.unsqueeze(0)  # (1, L, S)
            elif not (mask.dim() == 3 and tuple(mask.shape) == (N * H, L, S)):
                raise ValueError(
                    f"{layer}: expected attn_mask of shape (L, S) = {(L, S)} or "
                    f"(N * num_heads, L, S) = {(N * H, L, S)}, got shape {tuple(mask.shape)}"
                )
        return kpm, mask

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        self._check_inputs(query, key, value)
        batched = query.dim() == 3
        if batched and self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))  # (T, N, E)
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))  # (T, 1, E)
        L, N, E = query.shape
        H, d = self.num_heads, self.head_dim

        # ---- masks -> additive float masks: 0 = attend, -inf = ignore
        S = key.shape[0]
        kpm, mask = self._additive_masks(key_padding_mask, attn_mask, is_causal, query, S, batched)
        # ---- q = x W_Q^T + b_Q, k = x W_K^T + b_K, v = x W_V^T + b_V
        q, k, v = self._in_projection(query, key, value)  # (L, N, E), (S, N, E), (S, N, E)
        # ---- add_bias_kv / add_zero_attn: S -> S + 1 (or + 2)
        k, v, mask, kpm = self._extra_key_values(k, v, mask, kpm)

        # ---- split the embedding into H heads of width d = E / H
        q = q.reshape(L, N, H, d).permute(1, 2, 0, 3)  # (N, H, L, d)
        k = k.reshape(-1, N, H, d).permute(1, 2, 0, 3)  # (N, H, S, d)
        v = v.reshape(-1, N, H, d).permute(1, 2, 0, 3)  # (N, H, S, d)
        mask = _merge_masks(mask, kpm, N, H, L, k.shape[2])  # (N or 1, H or 1, L or 1, S)

        # ---- attention per head: A = softmax(q k^T / sqrt(d) + M), o = A v
        weights = attention_weights(q, k, attn_mask=mask)  # (N, H, L, S)
        if self.training and self.dropout > 0.0:
            weights = dropout(weights, self.dropout)
        out = weights @ v  # (N, H, L, d)

        # ---- concatenate the heads and mix them: Concat(head_1..head_H) W_O^T + b_O
        out = out.permute(2, 0, 1, 3).reshape(L, N, E)  # (L, N, E)
        out = self.out_proj(out)  # (L, N, E)

        if need_weights:
            weights = weights.mean(dim=1) if average_attn_weights else weights  # (N, [H,] L, S)
        else:
            weights = None
        if not batched:
            out = out.squeeze(1)  # (L, E)
            weights = None if weights is None else weights.squeeze(0)  # ([H,] L, S)
        elif self.batch_first:
            out = out.transpose(0, 1)  # (N, L, E)
        return out, weights

    def _in_projection(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        """q = x W_Q^T + b_Q, k = x W_K^T + b_K, v = x W_V^T + b_V, each (T, N, E)."""
        if self._qkv_same_embed_dim:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)  # 3 x (E, E)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b = self.in_proj_bias
        b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)  # 3 x (E,)
        return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)

    def _extra_key_values(
        self, k: Tensor, v: Tensor, mask: Tensor | None, kpm: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """Append the learned ``bias_k`` / ``bias_v`` (``add_bias_kv``), then an all-zero key
        and value (``add_zero_attn``), to every sequence: k, v (S, N, E) -> (S + 1, N, E)
        each time; the masks get a column of 0 (attendable) to match."""
        N, E = k.shape[1:]
        extra = []
        if self.bias_k is not None and self.bias_v is not None:
            extra.append((self.bias_k.expand(1, N, E), self.bias_v.expand(1, N, E)))
        if self.add_zero_attn:
            zeros = torch.zeros((1, N, E), dtype=k.dtype, device=k.device)
            extra.append((zeros, zeros))
        for k_new, v_new in extra:
            k = torch.cat([k, k_new])  # (S + 1, N, E)
            v = torch.cat([v, v_new])  # (S + 1, N, E)
            mask = None if mask is None else F.pad(mask, (0, 1))  # (1 or N*H, L, S + 1)
            kpm = None if kpm is None else F.pad(kpm, (0, 1))  # (N, S + 1)
        return k, v, mask, kpm
