r"""A lookup table: row :math:`i` of a learned matrix is the vector of token :math:`i`.

For a weight :math:`W` of shape (num_embeddings, embedding_dim) and integer ids,

.. math::
    y[\dots, :] = W[\text{ids}[\dots], :] = \operatorname{onehot}(\text{ids}) \, W,

so the gradient of row :math:`i` is the sum of the upstream gradients of every position
that looked up :math:`i` (rows nobody looked up get zero). Indexing computes the one-hot
product without building the one-hot matrix.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import check_tensor
from .init import normal_

__all__ = ["Embedding"]


def _renorm_(weight: Tensor, ids: Tensor, max_norm: float, norm_type: float) -> None:
    """torch's ``embedding_renorm_``: rescale, in place, every looked-up row whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``."""
    with torch.no_grad():
        rows = ids.reshape(-1).unique()  # (U,) each looked-up row once
        w = weight[rows]  # (U, D)
        if math.isinf(norm_type):
            norm = w.abs().amax(dim=1)
        else:
            # ||w||_p = (sum_j |w_j|^p)^(1/p)
            norm = w.abs().pow(norm_type).sum(dim=1).pow(1.0 / norm_type)
        norm = norm.double()
        big = norm > max_norm
        # w <- w * max_norm / (||w|| + 1e-7), only where ||w|| > max_norm
        scale = (max_norm / (norm[big] + 1e-7)).to(weight.dtype)
        weight[rows[big]] = w[big] * scale[:, None]


class Embedding(nn.Module):
    r"""Map integer ids to rows of a learned table, :math:`y = W[\text{ids}]`.

    ``W ~ N(0, 1)`` at init; row ``padding_idx`` (negative counts from the end) starts at
    zero and gets no gradient from lookups. ``max_norm``: every row looked up in a forward
    pass whose ``norm_type``-norm exceeds ``max_norm`` is first rescaled *in place* to norm
    ``max_norm``. ``scale_grad_by_freq``: a row's gradient is divided by how often it
    occurs in the batch. ``sparse=True`` (sparse gradients) is not implemented here and
    raises ``NotImplementedError``.

    Args:
        num_embeddings: number of rows of the table (the vocabulary size).
        embedding_dim: size of each row.
        padding_idx: a row that starts at zero and gets no gradient from lookups, e.g. the
            id of a padding token (negative counts from the end). Default: ``None``.
        max_norm: if given, a looked-up row of norm above ``max_norm`` is rescaled in
            place to norm ``max_norm`` before the lookup.
        norm_type: the :math:`p` of the :math:`p`-norm used by ``max_norm``. Default: 2.
        scale_grad_by_freq: divide each row's gradient by its count in the batch.
        sparse: sparse gradients; only ``False`` is supported.
        _weight, _freeze: an initial table to use as is, and whether it gets no gradient
            (what :meth:`from_pretrained` passes).

    Shape:
        - Input: :math:`(*)`, int64 or int32 ids in [0, num_embeddings).
        - Output: :math:`(*, D)`, D = embedding_dim.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Embedding(10, 3)
        >>> m(torch.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
        torch.Size([2, 4, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        factory_kwargs = {"device": device, "dtype": dtype}
        if sparse:
            raise NotImplementedError(
                f"{name}: sparse=True (sparse gradients) is not implemented in scratch; "
                "use sparse=False, which gives the same values as a dense gradient"
            )
        if padding_idx is not None:
            if not isinstance(padding_idx, int) or isinstance(padding_idx, bool):
                got = type(padding_idx).__name__
                raise TypeError(f"{name}: expected padding_idx to be an int or None, got {got}")
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"{name}: expected padding_idx in [{-num_embeddings}, {num_embeddings - 1}] "
                    f"(within num_embeddings={num_embeddings}), got {padding_idx}"
                )
            padding_idx = padding_idx % num_embeddings  # -1 -> num_embeddings - 1
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if _weight is None:
            weight = torch.empty((num_embeddings, embedding_dim), **factory_kwargs)
            self.weight = nn.Parameter(weight, requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise ValueError(
                    f"{name}: expected _weight of shape ({num_embeddings}, {embedding_dim}), "
                    f"got {tuple(_weight.shape)}"
                )
            self.weight = nn.Parameter(_weight, requires_grad=not _freeze)
        self.sparse = sparse

    def reset_parameters(self) -> None:
        normal_(self.weight)  # W ~ N(0, 1)
        if self.padding_idx is not None:
            with torch.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        check_tensor(name, "input", input)
        if input.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"{name}: expected integer ids (int64 or int32), got {input.dtype}")
        if input.numel() > 0:
            lo, hi = int(input.min()), int(input.max())
            if lo < 0 or hi >= self.num_embeddings:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"{name}: expected ids in [0, {self.num_embeddings - 1}] "
                    f"(num_embeddings={self.num_embeddings}), got {bad}"
                )
        if self.max_norm is not None:
            _renorm_(self.weight, input, self.max_norm, self.norm_type)
        # y[..., :] = W[ids[...], :]
        out = self.weight[input]  # (*, D)
        if self.scale_grad_by_freq and out.requires_grad:
            # dL/dW[i] = (sum of the upstream gradients at positions with id i) / count(i)
            count = torch.bincount(input.reshape(-1), minlength=self.num_embeddings)
            inv = (1.0 / count[input].to(out.dtype)).unsqueeze(-1)  # (*, 1)
            out.register_hook(lambda g: None if g is None else g * inv)
        if self.padding_idx is not None:
            # lookups of padding_idx pass the row's value but no gradient
            pad = (input == self.padding_idx).unsqueeze(-1)  # (*, 1)
            out = torch.where(pad, out.detach(), out)
        return out

    def extra_repr(self) -> str:
        s = "{num_embeddings}, {embedding_dim}"
        if self.padding_idx is not None:
            s += ", padding_idx={padding_idx}"
        if self.max_norm is not None:
            s += ", max_norm={max_norm}"
        if self.norm_type != 2:
            s += ", norm_type={norm_type}"
        if self.scale_grad_by_freq is not False:
            s += ", scale_grad_by_freq={scale_grad_by_freq}"
        return s.format(**self.__dict__)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        r"""An ``Embedding`` whose weight *is* ``embeddings`` (no copy), of shape
        (num_embeddings, embedding_dim).

        Args:
            embeddings: the table, a 2-D float tensor.
            freeze: if ``True`` (default) the table gets no gradient.
            padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse: as for
                :class:`Embedding`.

        Examples::

            >>> import torch, scratch
            >>> m = scratch.Embedding.from_pretrained(torch.tensor([[1.0, 2.3], [4.0, 5.1]]))
            >>> m(torch.tensor([1]))
            tensor([[4.0000, 5.1000]])
        """
        where = f"{cls.__name__}.from_pretrained"
        check_tensor(where, "embeddings", embeddings)
        if embeddings.dim() != 2:
            raise ValueError(
                f"{where}: expected embeddings of shape (num_embeddings, "
                f"embedding_dim) (2-D), got a {embeddings.dim()}-D tensor of shape "
                f"{tuple(embeddings.shape)}"
            )
        rows, cols = embeddings.shape
        return cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
        )
