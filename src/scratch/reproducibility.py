"""One numeric path on every x86-64 CPU, so that a chapter prints the same digits anywhere.

PyTorch picks its vector kernels at start-up from what the CPU offers (AVX-512 where it
exists, AVX2, or plain code), and MKL and oneDNN do the same. Different kernels add up in
a different order, so the last bits of a sum differ, and a training run amplifies those
bits into different accuracies. :func:`pin_numeric_path` caps all three at AVX2, which
every x86-64 CPU made since about 2015 has, so every such CPU takes the same path::

    from scratch.reproducibility import pin_numeric_path

    pin_numeric_path()  # before torch is imported
    import torch

This module imports nothing heavy on purpose: it must run before ``torch`` loads. A
variable already set in the environment wins (the robustness run sets another path). On
other architectures (an ARM laptop) the variables do nothing: the digits may differ from
the stored ones while the verdicts should not.
"""

from __future__ import annotations

import os
import sys
import warnings

#: The variables and the values that select the AVX2 path of ATen, MKL and oneDNN.
NUMERIC_PATH: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's own vectorized kernels
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # MKL's widest instruction set
    "MKL_CBWR": "AVX2",  # MKL's reproducible AVX2 branch, the same on Intel and AMD
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN's (convolutions of torch.nn)
}


def pin_numeric_path() -> dict[str, str]:
    """Set the variables of :data:`NUMERIC_PATH` that the environment leaves unset and
    return the values in force. Warns if ``torch`` was imported before (too late to act)."""
    if "torch" in sys.modules:
        warnings.warn(
            "pin_numeric_path() was called after torch was imported; restart the kernel "
            "and call it first, or the printed digits may differ from the book's",
            RuntimeWarning,
            stacklevel=2,
        )
    for name, value in NUMERIC_PATH.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in NUMERIC_PATH}


def numeric_path() -> str:
    """The path torch is on, e.g. ``"AVX2"`` (imports torch)."""
    import torch

    return torch.backends.cpu.get_cpu_capability()
