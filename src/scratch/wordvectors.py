r"""Pretrained word vectors: read them, find neighbours, solve analogies.

Two text formats are read, one word per line followed by its numbers:

* GloVe: ``word v1 v2 ... vD`` from the first line on;
* word2vec text: a header ``count dim``, then the same lines.

Similarity is the cosine :math:`\cos(u, v) = u^\top v / (\lVert u\rVert \lVert v\rVert)`, so
with unit rows :math:`\hat V` the similarities to a query :math:`q` are one product
:math:`\hat V \hat q`. An analogy "a is to b as ? is to c" (``king - man + woman``) is the
word nearest :math:`\hat a - \hat b + \hat c` other than a, b, c (3CosAdd, as in word2vec).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from os import PathLike

import numpy as np
import torch
from torch import Tensor

from ._checks import check_float

__all__ = ["analogy", "load_word_vectors", "nearest"]


def _is_header(parts: list[str]) -> bool:
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _parse_entry(parts: list[str], dim: int, where: str) -> tuple[str, np.ndarray]:
    """One line's fields -> (word, its D numbers); the word is all but the last D fields."""
    if dim < 1:
        line = " ".join(parts).strip()
        raise ValueError(f"{where}: expected a word followed by numbers, got {line!r}")
    if len(parts) < dim + 1:
        raise ValueError(f"{where}: expected a word and {dim} numbers, got {len(parts)} fields")
    try:
        vec = np.asarray(parts[-dim:], dtype=np.float32)  # (D,)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    return " ".join(parts[:-dim]), vec


def load_word_vectors(path: str | PathLike, limit: int | None = None) -> tuple[list[str], Tensor]:
    r"""Read a GloVe or word2vec text file into ``(words, vectors)``.

    ``vectors`` is a float32 tensor of shape (N, D), row ``i`` the vector of ``words[i]``,
    in file order. A word may contain spaces (the last D fields are the numbers). Raises
    ``ValueError`` naming the line of a malformed entry.

    Args:
        path: the text file, UTF-8; a word2vec header ``count dim`` on line 1 is optional.
        limit: keep only the first ``limit`` words (``None``: all of them).

    Examples::

        >>> import tempfile
        >>> from pathlib import Path
        >>> from scratch.wordvectors import load_word_vectors
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = Path(tmp) / "vectors.txt"
        ...     _ = path.write_text("2 3\nking 0.9 0.8 0.1\nqueen 0.9 0.1 0.8\n")
        ...     words, vectors = load_word_vectors(path)
        >>> words, vectors.shape
        (['king', 'queen'], torch.Size([2, 3]))
    """
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(
            f"load_word_vectors: expected limit to be None or an int >= 0, got {limit!r}"
        )
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = count = None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\r\n").rstrip(" ").split(" ")
            if parts == [""]:
                continue  # blank line
            if lineno == 1 and _is_header(parts):
                count, dim = int(parts[0]), int(parts[1])  # word2vec: "count dim"
                continue
            if dim is None:
                dim = len(parts) - 1  # GloVe: the first entry fixes D
            if limit is not None and len(words) >= limit:
                break
            word, vec = _parse_entry(parts, dim, f"load_word_vectors: {path}, line {lineno}")
            words.append(word)
            rows.append(vec)
    if count is not None and limit is None and len(words) != count:
        raise ValueError(
            f"load_word_vectors: {path}: header promises {count} vectors, got {len(words)}"
        )
    if dim is None:
        raise ValueError(f"load_word_vectors: {path}: expected word vectors, got an empty file")
    vectors = torch.from_numpy(np.stack(rows)) if rows else torch.empty(0, dim)
    return words, vectors  # (N, D)


def _unit(v: Tensor) -> Tensor:
    # v / ||v|| along the last axis (a zero vector stays zero)
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def nearest(
    vectors: Tensor,
    words: Sequence[str],
    query_vec: Tensor,
    k: int = 10,
    exclude: Iterable[str] = (),
) -> list[tuple[str, float]]:
    r"""The ``k`` words most cosine-similar to ``query_vec``, best first, as (word, cosine).

    :math:`\cos(v_i, q) = v_i^\top q / (\lVert v_i\rVert \lVert q\rVert)` for every row
    :math:`v_i` of ``vectors``; fewer than ``k`` come back if fewer words remain.

    Args:
        vectors: (N, D), row ``i`` the vector of ``words[i]``.
        query_vec: (D,), the vector to find neighbours of.
        exclude: words to skip (e.g. the query word itself).

    Examples::

        >>> import torch
        >>> from scratch.wordvectors import nearest
        >>> words = ["king", "queen", "man", "woman"]
        >>> vectors = torch.tensor([[0.9, 0.8, 0.1], [0.9, 0.1, 0.8],  # king, queen
        ...                         [0.1, 0.9, 0.0], [0.1, 0.1, 0.9]])  # man, woman
        >>> [(w, round(c, 3)) for w, c in nearest(vectors, words, vectors[0], 2, exclude=["king"])]
        [('man', 0.74), ('queen', 0.664)]
    """
    check_float("nearest", "vectors", vectors)
    check_float("nearest", "query_vec", query_vec)
    if vectors.dim() != 2 or len(words) != vectors.shape[0]:
        raise ValueError(
            f"nearest: expected vectors of shape (len(words), D) = ({len(words)}, D), "
            f"got {tuple(vectors.shape)}"
        )
    if query_vec.shape != vectors.shape[1:]:
        raise ValueError(
            f"nearest: expected query_vec of shape ({vectors.shape[1]},), "
            f"got {tuple(query_vec.shape)}"
        )
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"nearest: expected k to be an int >= 1, got {k!r}")
    # cos(v_i, q) = v_i^T q / (||v_i|| ||q||)
    sims = _unit(vectors) @ _unit(query_vec.to(vectors.dtype))  # (N,)
    drop = set(exclude)
    keep = torch.tensor([w not in drop for w in words], dtype=torch.bool)  # (N,)
    sims = torch.where(keep, sims, float("-inf"))
    top = sims.topk(min(k, int(keep.sum())))
    return [(words[i], float(s)) for s, i in zip(top.values.tolist(), top.indices.tolist())]


def analogy(
    vectors: Tensor, words: Sequence[str], a: str, b: str, c: str, k: int = 1
) -> list[tuple[str, float]]:
    r"""Solve ``a - b + c`` (``king - man + woman`` -> ``queen``): the ``k`` words nearest
    :math:`\hat a - \hat b + \hat c` by cosine, excluding a, b and c (3CosAdd).

    Args:
        vectors: (N, D), row ``i`` the vector of ``words[i]``.
        a, b, c: words of the vocabulary: "``a`` is to ``b`` as ? is to ``c``".
        k: how many candidates to return, best first, as (word, cosine).

    Examples::

        >>> import torch
        >>> from scratch.wordvectors import analogy
        >>> words = ["king", "queen", "man", "woman"]
        >>> vectors = torch.tensor([[0.9, 0.8, 0.1], [0.9, 0.1, 0.8],  # king, queen
        ...                         [0.1, 0.9, 0.0], [0.1, 0.1, 0.9]])  # man, woman
        >>> analogy(vectors, words, "king", "man", "woman")[0][0]
        'queen'
    """
    index = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)  # the first occurrence of a repeated word
    for w in (a, b, c):
        if w not in index:
            raise ValueError(
                f"analogy: expected words from the vocabulary ({len(index)} words), got {w!r}"
            )
    unit = _unit(vectors)
    # q = a/|a| - b/|b| + c/|c|
    q = unit[index[a]] - unit[index[b]] + unit[index[c]]
    return nearest(vectors, words, q, k=k, exclude=(a, b, c))
