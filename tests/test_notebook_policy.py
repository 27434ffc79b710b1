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


# An import statement; one that loads torch (torch, torchvision, ... or any scratch module
# but scratch.reproducibility, which exists to be imported first); the pinning call.
IMPORT = re.compile(r"^\s*(?:import|from)\s+([\w.]+)", re.M)
LOADS_TORCH = re.compile(
    r"^\s*(?:import|from)\s+(?:torch\w*|scratch\b(?!\.reproducibility\b))", re.M
)
PIN = re.compile(r"^(?:\w+ = )?pin_numeric_path\(\)", re.M)  # a call, its result bound or not


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_torch_is_imported_only_after_the_numeric_path_is_pinned(path: Path) -> None:
    """pin_numeric_path() runs in a code cell of its own (or at the top of the setup cell)
    before any cell that can load torch, and nothing but the launch cell imports before it."""
    cells = _code_cells(path)
    if not any(re.search(r"^\s*(import|from) torch", c, re.M) for c in cells):
        # A_evidence only reads the ledger; E_experiments loads torch through experiments,
        # which pins the path itself
        return
    pin = next(((i, m.start()) for i, c in enumerate(cells) if (m := PIN.search(c))), None)
    loads = next(((i, m.start()) for i, c in enumerate(cells) if (m := LOADS_TORCH.search(c))))
    assert pin is not None and pin < loads, (
        f"{path.name}: call pin_numeric_path() before the first cell that imports torch "
        f"(code cell {loads[0]})"
    )
    from tools.launch_cell import SOURCE as LAUNCH  # imports nothing that loads torch

    before = [c for c in cells[: pin[0]] if c != LAUNCH] + [cells[pin[0]][: pin[1]]]
    imported = {m.group(1) for c in before for m in IMPORT.finditer(c)}
    assert imported <= {"scratch.reproducibility"}, (
        f"{path.name}: {sorted(imported)} imported before pin_numeric_path()"
    )


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


DEFINITION = re.compile(r"^(?:def|class) (\w+)", re.M)


def _defined_names(path: Path) -> set[str]:
    """Top-level functions and classes a chapter defines, exercise cells aside (a stub and
    its solution define the same name on purpose)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    names: set[str] = set()
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and not any(t.startswith("exercise") for t in tags):
            names |= set(DEFINITION.findall("".join(cell["source"])))
    return names


def test_no_helper_is_defined_in_two_chapters() -> None:
    """A helper two chapters need lives in the package (scratch.training, scratch.data,
    scratch.models, ...), not in a copy per chapter; two different helpers do not share a
    name, so a reader never meets two meanings of one name."""
    seen: dict[str, str] = {}
    clashes = []
    for path in NOTEBOOKS:
        for name in sorted(_defined_names(path)):
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {path.stem}")
            seen.setdefault(name, path.stem)
    assert clashes == []
