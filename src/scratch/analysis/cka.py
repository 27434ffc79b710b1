"""Linear centred kernel alignment (CKA): how alike two representations of the same inputs
are, whatever their widths.

For ``n`` inputs, layer A's outputs form ``X`` of shape ``(n, p)`` and layer B's ``Y`` of
shape ``(n, q)``. After centring every column,

    CKA(X, Y) = ||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F)
              = <X Xᵀ, Y Yᵀ>_F / (||X Xᵀ||_F ||Y Yᵀ||_F)

The first form works on the features, the second on the ``(n, n)`` Gram matrices, which
can be computed once per layer and compared with every other layer. CKA is 1 for ``Y = X``,
unchanged by any rotation or scaling of either side, and near 0 for unrelated features.
"""

from __future__ import annotations

from torch import Tensor


def cka(X: Tensor, Y: Tensor) -> float:
    """Linear CKA from the features ``X`` ``(n, p)`` and ``Y`` ``(n, q)`` (the first form).

    Examples::

        >>> import torch
        >>> X = torch.randn(50, 4, dtype=torch.float64)
        >>> round(cka(X, 3 * X), 6)
        1.0
    """
    X, Y = X - X.mean(0), Y - Y.mean(0)  # centre every column
    return ((Y.T @ X).norm() ** 2 / ((X.T @ X).norm() * (Y.T @ Y).norm())).item()


def centred_gram(X: Tensor) -> Tensor:
    """The Gram matrix ``X Xᵀ`` of the inputs' centred features, in float64; ``X`` is
    ``(n, ...)`` (a layer's output: flattened to ``(n, features)``), the result ``(n, n)``."""
    X = X.flatten(1).double()  # (n, features)
    X = X - X.mean(0)
    return X @ X.T  # (n, n)


def cka_from_grams(K: Tensor, L: Tensor) -> float:
    """Linear CKA from two centred Gram matrices (the second form; see :func:`centred_gram`).

    Examples::

        >>> import torch
        >>> X, Y = torch.randn(40, 3, dtype=torch.float64), torch.randn(40, 5, dtype=torch.float64)
        >>> abs(cka_from_grams(centred_gram(X), centred_gram(Y)) - cka(X, Y)) < 1e-12
        True
    """
    return ((K * L).sum() / (K.norm() * L.norm())).item()
