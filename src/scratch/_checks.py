"""Input checks shared by the layers: every message names the layer, what it expected
and what it got, so a student's shape bug reads like a sentence."""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor


def check_tensor(layer: str, name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected {name} to be a torch.Tensor, got {type(x).__name__}")
    return x


def check_float(layer: str, name: str, x: Tensor) -> Tensor:
    check_tensor(layer, name, x)
    if not x.is_floating_point():
        raise TypeError(f"{layer}: expected {name} to be a floating-point tensor, got {x.dtype}")
    return x


def check_rank(layer: str, name: str, x: Tensor, ranks: Iterable[int], shape_hint: str) -> Tensor:
    """Raise ``ValueError`` unless ``x.dim()`` is one of ``ranks``.

    ``shape_hint`` spells the accepted layouts for the message, e.g. ``"(N, C, H, W) or (C, H, W)"``.
    """
    check_tensor(layer, name, x)
    ranks = tuple(ranks)
    if x.dim() not in ranks:
        raise ValueError(
            f"{layer}: expected {name} of shape {shape_hint} ({' or '.join(map(str, ranks))}-D), "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        )
    return x


def check_size(layer: str, what: str, got: int, expected: int) -> None:
    """Raise ``ValueError`` if a size (channels, features, ...) is not the expected one."""
    if got != expected:
        raise ValueError(f"{layer}: expected {what} = {expected}, got {got}")


def check_probability(layer: str, name: str, p: float) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        raise TypeError(f"{layer}: expected {name} to be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{layer}: {name} must be in [0, 1], got {p}")
    return float(p)


def same_dtype_device(layer: str, x: Tensor, ref: Tensor) -> None:
    if x.dtype != ref.dtype:
        raise TypeError(f"{layer}: input dtype {x.dtype} does not match weight dtype {ref.dtype}")


def as_tuple(value: int | Iterable[int], n: int, name: str, layer: str) -> tuple[int, ...]:
    """Expand an int to an n-tuple; check a tuple has n ints."""
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
