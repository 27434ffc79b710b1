"""Sequence models built from the library's layers: a Transformer encoder classifier (on
token ids), a Transformer encoder on real-valued sequences, a decoder-only (causal)
Transformer language model, an RNN/LSTM/GRU classifier, and two one-layer attention
models whose heads the book reads (``RelationTransformer``, ``AttentionProbe``).

Every tensor is batch-first: token ids are ``(N, T)`` ``long``, features ``(N, T, E)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._checks import check_rank, check_tensor
from ..activation import ReLU
from ..attention import MultiheadAttention
from ..embedding import Embedding
from ..linear import Linear
from ..normalization import LayerNorm
from ..recurrent import GRU, LSTM, RNN
from ..transformer import PositionalEncoding, TransformerEncoderLayer


def _check_tokens(layer: str, tokens: Tensor, vocab_size: int) -> Tensor:
    check_rank(layer, "tokens", tokens, (2,), "(N, T)")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"{layer}: expected integer token ids, got {tokens.dtype}")
    if tokens.numel() and not 0 <= int(tokens.min()) <= int(tokens.max()) < vocab_size:
        raise ValueError(
            f"{layer}: expected token ids in [0, {vocab_size}), "
            f"got values in [{int(tokens.min())}, {int(tokens.max())}]"
        )
    return tokens


def causal_mask(size: int, device: torch.device | None = None) -> Tensor:
    """``(T, T)`` bool mask, ``True`` above the diagonal: position ``t`` may not attend
    to ``s > t`` (``True`` means "masked", as in ``torch.nn.MultiheadAttention``)."""
    return torch.ones(size, size, dtype=torch.bool, device=device).triu(1)


class TransformerClassifier(nn.Module):
    r"""``Embedding`` (scaled by :math:`\sqrt{d}`) → ``PositionalEncoding`` →
    ``num_layers`` × ``TransformerEncoderLayer`` → mean over the non-padded positions →
    ``Linear``:

    .. math:: \text{logits} = W\,\frac{\sum_t m_t h_t}{\sum_t m_t} + b,
        \qquad m_t = [x_t \ne \text{pad\_idx}].

    Padded positions are masked out of attention (``src_key_padding_mask``) and of the
    mean, so appending padding leaves the logits unchanged.

    Args:
        vocab_size: number of token ids.
        d_model: width :math:`d` of the embeddings and of every layer.
        nhead: attention heads per layer (must divide ``d_model``).
        num_layers: number of ``TransformerEncoderLayer``\ s.
        num_classes: number of output logits.
        dim_feedforward: hidden width of each layer's feed-forward block.
        max_len: longest sequence the positional encoding covers.
        dropout: dropout probability of the positional encoding and of every layer.
        pad_idx: the padding token id (its embedding row stays zero and it is masked out).

    Shape:
        - Input: :math:`(N, T)` token ids, :math:`T \le \text{max\_len}`; every row needs
          at least one non-pad token.
        - Output: :math:`(N, \text{num\_classes})`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.TransformerClassifier(vocab_size=100, num_classes=3)
        >>> m(torch.randint(1, 100, (4, 12))).shape
        torch.Size([4, 3])
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        nhead: int = 4,
        num_layers: int = 2,
        num_classes: int = 2,
        dim_feedforward: int = 128,
        max_len: int = 512,
        dropout: float = 0.1,
        pad_idx: int = 0,
    ) -> None:
        super().__init__()
        self.vocab_size, self.d_model, self.pad_idx = vocab_size, d_model, pad_idx
        self.embedding = Embedding(vocab_size, d_model, padding_idx=pad_idx)
        self.pos_encoding = PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
            for _ in range(num_layers)
        )
        self.classifier = Linear(d_model, num_classes)

    def forward(self, tokens: Tensor) -> Tensor:
        _check_tokens(type(self).__name__, tokens, self.vocab_size)
        pad = tokens == self.pad_idx  # (N, T), True where padded
        if pad.all(dim=1).any():
            raise ValueError(f"{type(self).__name__}: a sequence has only padding tokens")
        h = self.pos_encoding(self.embedding(tokens) * math.sqrt(self.d_model))  # (N, T, d)
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=pad)  # (N, T, d)
        keep = (~pad).unsqueeze(-1).to(h.dtype)  # (N, T, 1)
        # mean over non-padded positions: sum_t m_t h_t / sum_t m_t
        pooled = (h * keep).sum(dim=1) / keep.sum(dim=1)  # (N, d)
        return self.classifier(pooled)


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
        >>> from scratch.models import SequenceTransformer
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
        self.embed = Linear(input_size, d_model)
        self.pos = PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(
                d_model, nhead, dim_feedforward, dropout, batch_first=True, norm_first=True
            )
            for _ in range(num_layers)
        )
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, out_features)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2 and self.input_size == 1:
            x = x.unsqueeze(-1)  # (N, L, 1)
        h = self.pos(self.embed(x))  # (N, L, d)
        for layer in self.layers:
            h = layer(h)  # (N, L, d)
        h = self.norm(h)
        pooled = h.mean(dim=1) if self.pool == "mean" else h[:, -1]  # (N, d)
        return self.head(pooled)


class TransformerLM(nn.Module):
    r"""A decoder-only language model: ``Embedding`` → ``PositionalEncoding`` →
    ``num_layers`` × ``TransformerEncoderLayer`` under a causal mask (so position ``t``
    sees tokens ``≤ t`` only) → ``LayerNorm`` → ``Linear`` head to the vocabulary. The
    layers are pre-norm by default (``norm_first=True``, as GPT-2), hence the final norm.

    With ``tie_weights=True`` the head reuses the embedding matrix (Press & Wolf, 2017):
    :math:`\text{logits}_t = E\,h_t`, and ``head.weight is embedding.weight``.

    Args:
        vocab_size: number of token ids (inputs and output logits).
        d_model: width :math:`d` of the embeddings and of every layer.
        nhead: attention heads per layer (must divide ``d_model``).
        num_layers: number of ``TransformerEncoderLayer``\ s.
        dim_feedforward: hidden width of each layer's feed-forward block.
        max_len: longest context the positional encoding covers.
        dropout: dropout probability of the positional encoding and of every layer.
        tie_weights: share the embedding matrix with the output head.
        norm_first: pre-norm layers (``True``, GPT-2) or post-norm (the 2017 Transformer).

    Shape:
        - Input: :math:`(N, T)` token ids, :math:`T \le \text{max\_len}`.
        - Output: :math:`(N, T, \text{vocab\_size})`, the logits of the next token.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.TransformerLM(vocab_size=100)
        >>> m(torch.randint(0, 100, (4, 12))).shape, m.head.weight is m.embedding.weight
        (torch.Size([4, 12, 100]), True)
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 128,
        max_len: int = 256,
        dropout: float = 0.1,
        tie_weights: bool = True,
        norm_first: bool = True,
    ) -> None:
        super().__init__()
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.embedding = Embedding(vocab_size, d_model)
        self.pos_encoding = PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(
                d_model, nhead, dim_feedforward, dropout, batch_first=True, norm_first=norm_first
            )
            for _ in range(num_layers)
        )
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size, bias=False)
        if tie_weights:
            self.head.weight = self.embedding.weight  # one (vocab, d) matrix, two uses

    def forward(self, tokens: Tensor) -> Tensor:
        _check_tokens(type(self).__name__, tokens, self.vocab_size)
        T = tokens.shape[1]
        if T > self.max_len:
            raise ValueError(
                f"{type(self).__name__}: expected at most max_len = {self.max_len} tokens, got {T}"
            )
        mask = causal_mask(T, tokens.device)  # (T, T)
        h = self.pos_encoding(self.embedding(tokens) * math.sqrt(self.d_model))  # (N, T, d)
        for layer in self.layers:
            h = layer(h, src_mask=mask)  # (N, T, d)
        return self.head(self.norm(h))  # (N, T, vocab)

    @torch.no_grad()
    def generate(self, tokens: Tensor, max_new_tokens: int) -> Tensor:
        """Greedy decoding: append ``argmax`` of the last position's logits,
        ``max_new_tokens`` times, reading at most the last ``max_len`` tokens.

        Shape: ``(N, T)`` → ``(N, T + max_new_tokens)``. Runs in eval mode (no dropout)
        and restores the previous mode.
        """
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                logits = self(tokens[:, -self.max_len :])  # (N, T', vocab)
                next_token = logits[:, -1].argmax(dim=-1, keepdim=True)  # (N, 1)
                tokens = torch.cat([tokens, next_token], dim=1)  # (N, T + 1)
        finally:
            self.train(was_training)
        return tokens


class RNNClassifier(nn.Module):
    r"""An ``RNN``/``LSTM``/``GRU`` (batch-first) read at its last hidden state, then
    ``Linear``: :math:`\text{logits} = W h_T^{(L)} + b`, with
    :math:`h_T^{(L)} = [\overrightarrow{h}_T; \overleftarrow{h}_1]` when bidirectional.

    Give ``vocab_size`` for token ids (an ``Embedding`` of ``embedding_dim``, default
    ``hidden_size``, comes first) or ``input_size`` for feature vectors, not both.
    ``lengths`` (unidirectional only) reads each sequence at its own last step
    ``lengths[n] − 1``, so right-padding is ignored.

    Args:
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        input_size: features per step of a float input (no embedding).
        vocab_size: number of token ids of an integer input (an embedding first).
        embedding_dim: width of that embedding; ``hidden_size`` when ``None``.
        hidden_size: features of the hidden state :math:`h`.
        num_layers: stacked recurrent layers.
        num_classes: number of output logits.
        bidirectional: read the sequence both ways and concatenate the two last states.
        dropout: dropout between stacked recurrent layers (as in ``torch.nn.LSTM``).
        pad_idx: padding token id of the embedding (its row stays zero).

    Shape:
        - Input: :math:`(N, T)` token ids, or :math:`(N, T, \text{input\_size})`.
        - Output: :math:`(N, \text{num\_classes})`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.RNNClassifier("gru", input_size=8, hidden_size=16, num_classes=3)
        >>> m(torch.randn(4, 20, 8)).shape
        torch.Size([4, 3])
    """

    KINDS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}

    def __init__(
        self,
        kind: str = "lstm",
        *,
        input_size: int | None = None,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        num_classes: int = 2,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pad_idx: int | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if kind not in self.KINDS:
            raise ValueError(f"{name}: expected kind in {sorted(self.KINDS)}, got {kind!r}")
        if (input_size is None) == (vocab_size is None):
            raise ValueError(f"{name}: give exactly one of input_size and vocab_size")
        self.kind, self.vocab_size, self.bidirectional = kind, vocab_size, bidirectional
        if vocab_size is not None:
            input_size = embedding_dim or hidden_size
            self.embedding = Embedding(vocab_size, input_size, padding_idx=pad_idx)
        else:
            self.embedding = None
        rnn_class = self.KINDS[kind]
        self.rnn = rnn_class(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.fc = Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, input: Tensor, lengths: Tensor | None = None) -> Tensor:
        name = type(self).__name__
        if self.embedding is not None:
            x = self.embedding(_check_tokens(name, input, self.vocab_size))  # (N, T, E)
        else:
            x = check_rank(name, "input", input, (3,), "(N, T, input_size)")
        output, h_n = self.rnn(x)  # output (N, T, D·H); h_n (D·L, N, H) or (h_n, c_n)
        if self.kind == "lstm":
            h_n = h_n[0]  # drop the cell state c_n
        if lengths is not None:
            if self.bidirectional:
                raise ValueError(f"{name}: lengths is supported for unidirectional models only")
            lengths = check_tensor(name, "lengths", lengths).to(torch.long)
            last = output[torch.arange(output.shape[0]), lengths - 1]  # (N, H)
        elif self.bidirectional:
            last = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # (N, 2H): forward, backward
        else:
            last = h_n[-1]  # (N, H): top layer at t = T
        return self.fc(last)


class RelationTransformer(nn.Module):
    r"""Token and learned position embeddings → one causal pre-norm
    ``TransformerEncoderLayer`` → ``LayerNorm`` → one read-out per relation:
    :math:`\text{logits}_{t,r} = W_r\,\text{LN}(h_t) + b_r`. Chapter 2 trains it on
    :func:`scratch.data.token_relations` and reads which head serves which relation.

    Args:
        vocab_size: number of token ids (also the number of logits per relation).
        seq_len: the sequence length (one learned position embedding per position).
        d_model: width of the embeddings and of the layer.
        nhead: attention heads (must divide ``d_model``).
        num_relations: number of read-outs, one per target.

    Shape:
        - Input: :math:`(N, \text{seq\_len})` token ids.
        - Output: :math:`(N, \text{seq\_len}, \text{num\_relations}, \text{vocab\_size})`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.RelationTransformer(vocab_size=8, seq_len=10)
        >>> m(torch.randint(0, 8, (3, 10))).shape
        torch.Size([3, 10, 2, 8])
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 32,
        nhead: int = 4,
        num_relations: int = 2,
    ) -> None:
        super().__init__()
        self.vocab_size, self.num_relations = vocab_size, num_relations
        self.tokens = Embedding(vocab_size, d_model)
        self.positions = Embedding(seq_len, d_model)
        self.block = TransformerEncoderLayer(
            d_model, nhead, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.norm = LayerNorm(d_model)
        self.readout = Linear(d_model, num_relations * vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        _check_tokens(type(self).__name__, tokens, self.vocab_size)
        h = self.tokens(tokens) + self.positions.weight[: tokens.shape[1]]  # (N, T, d)
        h = self.block(h, src_mask=causal_mask(tokens.shape[1], tokens.device))  # (N, T, d)
        logits = self.readout(self.norm(h))  # (N, T, relations · vocab)
        return logits.reshape(*tokens.shape, self.num_relations, self.vocab_size)  # (N, T, R, V)


class AttentionProbe(nn.Module):
    r"""Token and learned position embeddings → one ``MultiheadAttention`` (no mask) → a
    two-layer MLP per position; returns the logits *and* every head's attention weights,
    so that chapter 6 can read what each head looks at (trained on
    :func:`scratch.data.first_plus_previous`).

    Args:
        vocab_size: number of token ids (also the number of logits).
        seq_len: the sequence length (one learned position embedding per position).
        num_heads: attention heads (must divide ``embed_dim``).
        embed_dim: width of the embeddings and of the attention.
        hidden: width of the MLP's hidden layer.

    Shape:
        - Input: :math:`(N, \text{seq\_len})` token ids.
        - Output: logits :math:`(N, \text{seq\_len}, \text{vocab\_size})` and weights
          :math:`(N, \text{num\_heads}, \text{seq\_len}, \text{seq\_len})`.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.models.AttentionProbe(vocab_size=5, seq_len=8, num_heads=2)
        >>> logits, weights = m(torch.randint(0, 5, (3, 8)))
        >>> logits.shape, weights.shape
        (torch.Size([3, 8, 5]), torch.Size([3, 2, 8, 8]))
    """

    def __init__(
        self, vocab_size: int, seq_len: int, num_heads: int, embed_dim: int = 32, hidden: int = 64
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.tok, self.pos = Embedding(vocab_size, embed_dim), Embedding(seq_len, embed_dim)
        self.attn = MultiheadAttention(embed_dim, num_heads, batch_first=True)
        self.head = nn.Sequential(Linear(embed_dim, hidden), ReLU(), Linear(hidden, vocab_size))

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        _check_tokens(type(self).__name__, tokens, self.vocab_size)
        positions = torch.arange(tokens.shape[1], device=tokens.device)  # (T,)
        h = self.tok(tokens) + self.pos(positions)  # (N, T, E)
        out, weights = self.attn(h, h, h, need_weights=True, average_attn_weights=False)
        return self.head(out), weights  # (N, T, V), (N, heads, T, T)
