"""Experiments that test the book's claims at scale.

Run one with ``python -m experiments NAME --scale smoke`` (seconds, CPU),
``--scale cpu`` (the full protocol cut down to fit a 2-core CPU; three experiments have
one) or ``--scale full`` (meant for a GPU); ``python -m experiments list`` shows them all.
From Python::

    import experiments
    result = experiments.run("dense_vs_conv", scale="smoke", device="cpu")
    result.table()
"""

from __future__ import annotations

import sys

from scratch.reproducibility import pin_numeric_path

# Before torch loads: the same CPU kernels as the book's chapters (no effect on a GPU).
if "torch" not in sys.modules:
    pin_numeric_path()

from .registry import get, names  # noqa: E402
from .runner import ExperimentError, RunResult  # noqa: E402
from .runner import run as _run  # noqa: E402

__all__ = ["ExperimentError", "RunResult", "get", "names", "run"]


def run(name: str, **kwargs) -> RunResult:
    """Run (or resume) the experiment called ``name``; keyword arguments as
    :func:`experiments.runner.run` (``scale``, ``device``, ``out``, ``seeds``, ``force``)."""
    return _run(get(name), **kwargs)
