r"""Inverted dropout: zero each unit with probability :math:`p` while training.

.. math::
    y = \frac{m \odot x}{1 - p}, \qquad m_i \sim \text{Bernoulli}(1 - p)\ \text{i.i.d.}

Dividing the survivors by :math:`1 - p` keeps :math:`\mathbb{E}[y] = x`, so evaluation
needs no rescaling: ``eval()`` makes the layer the identity. The mask is
:math:`m_i = [u_i \ge p]` with :math:`u_i \sim \mathcal{U}[0, 1)`, since
:math:`P(u \ge p) = 1 - p`.

Torch draws its mask with ``bernoulli_``, a different use of the random stream, so for
the same seed the *pattern* of dropped units differs from torch's; its distribution and
everything else (scaling, ``p = 0``, ``p = 1``, eval) is the same.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_float, check_probability

__all__ = ["Dropout", "dropout", "dropout_mask"]


def dropout_mask(
    shape,
    p: float,
    device=None,
    dtype=torch.float32,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""The scaled keep-mask :math:`m / (1 - p)`, :math:`m_i = [u_i \ge p]`,
    :math:`u_i \sim \mathcal{U}[0, 1)`: entries :math:`1/(1-p)` w.p. :math:`1-p`, else 0.

    For ``p = 1`` every entry is 0 (not :math:`0 \cdot \infty`).

    Args:
        shape: shape of the mask, e.g. ``x.shape``.
        p: probability of an entry being zero.
        device, dtype: where and in which type the mask is created.
        generator: the random stream to draw :math:`u` from (default: the global one).

    Examples::

        >>> import torch
        >>> from scratch.dropout import dropout_mask
        >>> dropout_mask((2, 3), 0.5, generator=torch.Generator().manual_seed(0))
        tensor([[0., 2., 0.],
                [0., 0., 2.]])
    """
    u = torch.rand(shape, device=device, generator=generator)
    # m_i = [u_i >= p] ~ Bernoulli(1 - p)
    keep = u >= p
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    return keep.to(dtype) * scale


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Functional inverted dropout: :math:`y = m \odot x / (1-p)` if ``training``, else
    :math:`y = x`, with :math:`m_i \sim \text{Bernoulli}(1-p)`. The one dropout of the
    library: ``Dropout`` and the recurrent and attention layers call it.

    Args:
        x: the input, a floating-point tensor of any shape.
        p: probability of an element being zeroed. Default: 0.5.
        training: apply dropout if ``True``; return ``x`` itself if ``False``.
        inplace: if ``True``, multiply ``x`` by the mask in its own memory.

    Examples::

        >>> import torch
        >>> from scratch.dropout import dropout
        >>> y = dropout(torch.ones(1000), p=0.2)
        >>> sorted(set(y.tolist())), y.shape
        ([0.0, 1.25], torch.Size([1000]))
    """
    check_float("dropout", "input", x)
    p = check_probability("dropout", "p", p)
    if not training or p == 0 or x.numel() == 0:
        return x
    # y = x * m / (1 - p)
    mask = dropout_mask(x.shape, p, device=x.device, dtype=x.dtype)
    return x.mul_(mask) if inplace else x * mask


class Dropout(nn.Module):
    r"""Zero each element with probability ``p`` in training and scale the rest by :math:`1/(1-p)`.

    :math:`y = m \odot x / (1 - p)`, :math:`m_i \sim \text{Bernoulli}(1-p)`; identity in eval.

    Args:
        p: probability of an element being zeroed. Default: 0.5.
        inplace: if ``True``, do the operation in place on the input. Default: ``False``.

    Shape:
        - Input: :math:`(*)`, any shape.
        - Output: :math:`(*)`, same shape.

    Examples::

        >>> import torch, scratch
        >>> m = scratch.Dropout(p=0.2)
        >>> m(torch.randn(20, 16)).shape
        torch.Size([20, 16])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        check_probability(type(self).__name__, "p", p)
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        check_float(type(self).__name__, "input", input)
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
