"""Input checks shared by the layers: every message names the layer, what it expected
and what it got, so a student's shape bug reads like a sentence.

Every helper takes the layer's name first; a layer passes ``type(self).__name__``, so a
subclass reports its own name.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor


def check_tensor(layer: str, name: str, x: object) -> Tensor:
    """Raise ``TypeError`` unless ``x`` is a ``torch.Tensor``; return it.

    Args:
        layer: the name the message starts with, e.g. ``type(self).__name__``.
        name: what ``x`` is called in the message, e.g. ``"input"``.
        x: the object to check.

    Examples::

        >>> from scratch._checks import check_tensor
        >>> check_tensor("Linear", "input", [1.0])
        Traceback (most recent call last):
        ...
        TypeError: Linear: expected input to be a torch.Tensor, got list
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected {name} to be a torch.Tensor, got {type(x).__name__}")
    return x


def check_float(layer: str, name: str, x: Tensor) -> Tensor:
    """Raise ``TypeError`` unless ``x`` is a floating-point tensor; return it.

    Args:
        layer, name: as for :func:`check_tensor`.
        x: the object to check.

    Examples::

        >>> import torch
        >>> from scratch._checks import check_float
        >>> check_float("Tanh", "input", torch.tensor([1]))
        Traceback (most recent call last):
        ...
        TypeError: Tanh: expected input to be a floating-point tensor, got torch.int64
    """
    check_tensor(layer, name, x)
    if not x.is_floating_point():
        raise TypeError(f"{layer}: expected {name} to be a floating-point tensor, got {x.dtype}")
    return x


def check_rank(layer: str, name: str, x: Tensor, ranks: Iterable[int], shape_hint: str) -> Tensor:
    """Raise ``ValueError`` unless ``x.dim()`` is one of ``ranks``; return ``x``.

    Args:
        layer, name: as for :func:`check_tensor`.
        x: the tensor to check.
        ranks: the accepted numbers of dimensions.
        shape_hint: the accepted layouts, spelled for the message, e.g.
            ``"(N, C, H, W) or (C, H, W)"``.

    Examples::

        >>> import torch
        >>> from scratch._checks import check_rank
        >>> check_rank("BatchNorm2d", "input", torch.zeros(2, 3), (4,), "(N, C, H, W)")
        Traceback (most recent call last):
        ...
        ValueError: BatchNorm2d: expected input of shape (N, C, H, W) (4-D), got a 2-D tensor ...
    """
    check_tensor(layer, name, x)
    ranks = tuple(ranks)
    if x.dim() not in ranks:
        accepted = " or ".join(map(str, ranks))
        raise ValueError(
            f"{layer}: expected {name} of shape {shape_hint} ({accepted}-D), "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )
    return x


def check_size(layer: str, what: str, got: int, expected: int) -> None:
    """Raise ``ValueError`` if a size (channels, features, ...) is not the expected one.

    Args:
        layer: the name the message starts with.
        what: the size's name in the message, e.g. ``"input channels"``.
        got, expected: the size found and the size required.

    Examples::

        >>> from scratch._checks import check_size
        >>> check_size("Conv2d", "input channels", 4, 3)
        Traceback (most recent call last):
        ...
        ValueError: Conv2d: expected input channels = 3, got 4
    """
    if got != expected:
        raise ValueError(f"{layer}: expected {what} = {expected}, got {got}")


def check_probability(layer: str, name: str, p: float) -> float:
    """Raise ``TypeError`` unless ``p`` is a number (not a bool), ``ValueError`` unless
    it is in [0, 1]; return it as a float.

    Args:
        layer, name: as for :func:`check_tensor`.
        p: the probability to check.

    Examples::

        >>> from scratch._checks import check_probability
        >>> check_probability("Dropout", "p", 1)
        1.0
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        raise TypeError(f"{layer}: expected {name} to be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{layer}: {name} must be in [0, 1], got {p}")
    return float(p)


def same_dtype_device(layer: str, x: Tensor, ref: Tensor) -> None:
    """Raise ``TypeError`` if the input's dtype differs from the weight's (``ref``).

    Args:
        layer: the name the message starts with.
        x: the input.
        ref: the parameter (or buffer) the input is computed with.

    Examples::

        >>> import torch
        >>> from scratch._checks import same_dtype_device
        >>> same_dtype_device("Linear", torch.zeros(2, dtype=torch.float64), torch.zeros(2))
        Traceback (most recent call last):
        ...
        TypeError: Linear: input dtype torch.float64 does not match weight dtype torch.float32
    """
    if x.dtype != ref.dtype:
        raise TypeError(f"{layer}: input dtype {x.dtype} does not match weight dtype {ref.dtype}")


def as_tuple(value: int | Iterable[int], n: int, name: str, layer: str) -> tuple[int, ...]:
    """Expand an int to an n-tuple; check that a tuple has n ints.

    Args:
        value: an int or an iterable of ints, e.g. a ``kernel_size``.
        n: the number of spatial dimensions.
        name: the argument's name in the message.
        layer: the name the message starts with.

    Examples::

        >>> from scratch._checks import as_tuple
        >>> as_tuple(3, 2, "kernel_size", "Conv2d")
        (3, 3)
    """
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{layer}: expected {name} to be an int or {n} ints, got {value}")
    return value


__all__ = [
    "as_tuple",
    "check_float",
    "check_probability",
    "check_rank",
    "check_size",
    "check_tensor",
    "same_dtype_device",
]
