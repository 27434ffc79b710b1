"""Small helpers the chapters and experiments share."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import nn

#: Environment variable that shifts every seed the book and the experiments use (the
#: robustness run sets it: the verdicts must not depend on which seeds were drawn).
SEED_OFFSET_ENV = "SCRATCH_SEED_OFFSET"


def seed_offset() -> int:
    """The shift added to every seed: ``$SCRATCH_SEED_OFFSET``, 0 when unset."""
    raw = os.environ.get(SEED_OFFSET_ENV, "").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_OFFSET_ENV} must be an integer, got {raw!r}") from None


def shifted(seed: int) -> int:
    """``seed`` plus :func:`seed_offset`: pass this wherever a seed is handed to a library
    (a data generator, ``random_state=``), so the robustness run can move it."""
    return int(seed) + seed_offset()


def generator(seed: int) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``shifted(seed)``."""
    return torch.Generator().manual_seed(shifted(seed))


def numpy_rng(seed: int) -> np.random.Generator:
    """A NumPy ``Generator`` seeded with ``shifted(seed)``."""
    return np.random.default_rng(shifted(seed))


def seed_all(seed: int = 0, threads: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and torch with ``shifted(seed)``; make torch pick deterministic
    kernels.

    ``threads`` fixes torch's intra-op thread count (default: leave it), so that a
    notebook prints the same numbers on every run of the same machine. Returns a
    ``torch.Generator`` seeded the same way for code that wants its own stream.
    """
    seed = shifted(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeds the global stream that libraries draw from
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(threads)
    return torch.Generator().manual_seed(seed)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (trainable ones by default)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def error_bound(err: float, floor: int = -12) -> str:
    """The smallest power of ten above ``err``, as text (``"1e-7"``), never below ``1e{floor}``.

    The chapters print parity errors this way: ``5.96e-08`` can flip its last digits
    between machines, ``< 1e-7`` prints the same on every run.
    """
    exponent = floor
    while 10.0**exponent <= err:
        exponent += 1
    return f"1e{exponent}"
