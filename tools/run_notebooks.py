"""Re-execute notebooks in place, each in a fresh kernel, top to bottom, and save them.

    python -m tools.run_notebooks book/00_what_a_layer_is.ipynb [...]

Prints the wall time of each notebook (what the closing notes report). The kernels run
with ``SCRATCH_OFFLINE=1``: a stored output never comes from a download.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run(path: Path, timeout: int = 600) -> float:
    os.environ["SCRATCH_OFFLINE"] = "1"  # the kernel inherits it
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        seconds = run(Path(name))
        print(f"{name}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
