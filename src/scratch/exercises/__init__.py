"""Exercises that check themselves.

A chapter's exercise is three cells: a stub the reader completes (a function whose body
is ``raise NotImplementedError``), a check cell ``check("linear_forward", linear_forward)``
and, folded below, a worked solution that defines the function again and runs the same
check. The check compares the reader's function with the answer ``torch`` gives on
several inputs (never with a stored copy of the solution) and prints one line: what is
right, what is not, or that the stub has not been filled in yet. It never raises, so a
wrong answer reads as a message, not a traceback.

Each chapter's checks live in ``scratch.exercises.chNN``, registered with
:func:`exercise`; :func:`run_check` returns a :class:`Result` for tests.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "Result",
    "Wrong",
    "call",
    "check",
    "exercise",
    "expect_close",
    "expect_equal",
    "run_check",
]

_CHECKS: dict[str, Callable[[Callable[..., Any]], str]] = {}


class Wrong(Exception):
    """Raised inside a check when the reader's answer is wrong; the message says how."""


class _NotYet(Exception):
    """The reader's function still raises NotImplementedError."""


@dataclass(frozen=True)
class Result:
    """The outcome of one check: ``passed`` and the line shown to the reader."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message


def exercise(name: str) -> Callable:
    """Register ``fn(answer) -> summary`` as the check for exercise ``name``.

    The check calls the reader's function through :func:`call`, compares with
    :func:`expect_close` / :func:`expect_equal` (which raise :class:`Wrong`), and returns a
    one-line summary of what it verified.
    """

    def register(fn: Callable[[Callable[..., Any]], str]) -> Callable[[Callable[..., Any]], str]:
        if name in _CHECKS:
            raise ValueError(f"exercise {name!r} is registered twice")
        _CHECKS[name] = fn
        return fn

    return register


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def names() -> list[str]:
    """Every registered exercise name."""
    _load_all()
    return sorted(_CHECKS)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"{type(value).__name__} of {len(value)} items"
    return repr(value)


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the reader's function; turn whatever it raises into a readable :class:`Wrong`."""
    shown = ", ".join(
        [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
    )
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise _NotYet(name) from exc
    except Exception as exc:  # the reader's bug, reported instead of raised
        raise Wrong(f"{name}({shown}) raised {type(exc).__name__}: {exc}") from exc


def expect_equal(got: Any, want: Any, what: str) -> None:
    """``got == want`` (numbers, tuples), or :class:`Wrong` saying what was expected."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if got is None:
        raise Wrong(f"{what}: your function returned None (is a `return` missing?)")
    ok = got == want
    if isinstance(want, float) and isinstance(got, (int, float)):
        ok = math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
    if not ok:
        raise Wrong(f"{what}: expected {want!r}, got {got!r}")


def expect_close(
    got: Any, want: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """``got`` is a tensor of ``want``'s shape and close to it, or :class:`Wrong` says how not."""
    if got is None:
        raise Wrong(f"{what}: your function returned None (is a `return` missing?)")
    if not isinstance(got, torch.Tensor):
        raise Wrong(f"{what}: expected a tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(want.shape):
        raise Wrong(f"{what}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}")
    got = got.detach().to(want.dtype)
    if not torch.allclose(got, want, atol=atol, rtol=rtol):
        err = (got - want).abs().max().item()
        raise Wrong(f"{what}: the values differ from torch's by up to {err:.3g}")


def run_check(name: str, fn: Callable[..., Any]) -> Result:
    """Run exercise ``name``'s check on ``fn`` and return the :class:`Result` (never raises)."""
    _load_all()
    if name not in _CHECKS:
        known = ", ".join(sorted(_CHECKS))
        return Result(name, False, f"✗ no exercise called {name!r}; known: {known}")
    if not callable(fn):
        return Result(name, False, f"✗ {name}: expected a function, got {type(fn).__name__}")
    try:
        summary = _CHECKS[name](fn)
    except _NotYet:
        return Result(
            name,
            False,
            f"… {name}: not attempted yet. Replace `raise NotImplementedError` with your code "
            "and run both cells again.",
        )
    except Wrong as wrong:
        return Result(name, False, f"✗ {name}: {wrong}")
    return Result(name, True, f"✓ {name}: right. {summary}")


def check(name: str, fn: Callable[..., Any]) -> None:
    """Check the reader's ``fn`` for exercise ``name`` and print one line saying how it did."""
    print(run_check(name, fn).message)
