"""The first code cell of every notebook: where the book's package is missing (a notebook
opened on Colab, or downloaded into a fresh environment), it clones the repository,
installs ``scratch[book]`` from it and moves into its ``book/`` folder, so the chapter runs
as it does in the repository. Where ``scratch`` is installed it does nothing. The HTML
book removes the cell (tag ``remove-cell``).

    python -m tools.launch_cell book/*.ipynb   # insert or refresh the cell

``tests/test_launch.py`` checks every notebook carries this exact cell, that its URL is
the book's repository, and runs it with the network calls recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "remove-cell"
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]

SOURCE = f'''\
# Colab, or a fresh environment: fetch and install the book's code first (skipped where
# `scratch` is installed; hidden in the HTML book).
import importlib.util

if importlib.util.find_spec("scratch") is None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path.home() / "layers-book"
    if not repo.exists():
        url = "{REPOSITORY}"
        subprocess.run(["git", "clone", "--depth", "1", url, str(repo)], check=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"{{repo}}[book]"], check=True)
    importlib.invalidate_caches()
    sys.path.insert(0, str(repo))  # the experiments package and its stored results
    os.chdir(repo / "book")'''


def cell() -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "launch-setup",
        # collapsed in JupyterLab (it still runs with Run All); removed from the HTML book
        "metadata": {"tags": [TAG], "jupyter": {"source_hidden": True}},
        "outputs": [],
        "source": SOURCE.splitlines(True),
    }


def is_launch_cell(c: dict) -> bool:
    return c["cell_type"] == "code" and TAG in c.get("metadata", {}).get("tags", [])


def install(path: Path) -> None:
    nb = json.loads(path.read_text())
    cells = [c for c in nb["cells"] if not is_launch_cell(c)]
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    cells.insert(first_code, cell())
    nb["cells"] = cells
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        install(Path(name))
