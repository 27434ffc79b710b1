"""What every chapter must do for its outputs and verdicts to survive another CPU and
other seeds: pin the numeric path first, and draw every seed through scratch.utils."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
# Seeds that bypass SCRATCH_SEED_OFFSET (scratch.utils.generator / numpy_rng / shifted / seed_all).
UNSHIFTED = [
    r"torch\.Generator\(\)\.manual_seed\(",
    r"torch\.manual_seed\(",
    r"np\.random\.default_rng\(",
    r"np\.random\.seed\(",
    r"random_state\s*=\s*\d",
    r"(?<![\w.])random\.seed\(",
]


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_torch_is_imported_only_after_the_numeric_path_is_pinned(path: Path) -> None:
    cells = _code_cells(path)
    first_torch = next(
        (i for i, c in enumerate(cells) if re.search(r"^\s*(import|from) torch", c, re.M)), None
    )
    if first_torch is None:
        return  # the notebook never loads torch itself (it may through scratch: see below)
    cell = cells[first_torch]
    pin = cell.find("pin_numeric_path()")
    assert pin != -1 and pin < re.search(r"^\s*(import|from) torch", cell, re.M).start(), (
        f"{path.name}: call pin_numeric_path() before the first torch import"
    )
    from tools.launch_cell import SOURCE as LAUNCH  # imports nothing that loads torch

    before = [c for c in cells[:first_torch] if c != LAUNCH]
    assert not any("import" in c for c in before if "scratch.reproducibility" not in c)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_seed_goes_through_scratch_utils(path: Path) -> None:
    found = [
        (i, pattern)
        for i, cell in enumerate(_code_cells(path))
        for pattern in UNSHIFTED
        if re.search(pattern, cell)
    ]
    assert found == [], (
        f"{path.name}: seeds the robustness run cannot move (code cell, pattern): {found}"
    )


# Directives that JupyterLab and Colab show as raw text where the book shows code.
CODE_DIRECTIVES = re.compile(r"```\{(literalinclude|include|code-block|code|eval-rst)\}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_is_shown_by_a_code_cell_not_a_myst_directive(path: Path) -> None:
    """The library's source appears through scratch.show in a code cell, which renders the
    same in the HTML book, JupyterLab and Colab; a MyST directive would show raw there."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    raw = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "markdown" and CODE_DIRECTIVES.search("".join(c["source"]))
    ]
    assert raw == [], f"{path.name}: cells {raw} show code through a MyST directive"
    for c in cells:
        src = "".join(c["source"])
        if c["cell_type"] == "code" and src.startswith("show_source("):
            assert "remove-input" in c["metadata"].get("tags", []), src
