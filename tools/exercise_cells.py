"""The six cells of one self-checking exercise (see ``scratch/exercises/__init__.py``).

    from tools.exercise_cells import exercise_cells, insert_cells
    cells = exercise_cells(label="ex-linear-forward", title="Write a dense layer's forward pass",
                           prompt="...", stub="def linear_forward(x, weight, bias):\\n    ...",
                           check_name="linear_forward", fn="linear_forward",
                           solution_text="...", solution="def linear_forward(...): ...")
    insert_cells(Path("book/00_what_a_layer_is.ipynb"), index, cells)

The cells: an ``{exercise-start}`` prompt, the stub (tag ``exercise-stub``), the check
(tag ``exercise-check``), ``{exercise-end}`` with a folded ``{solution-start}``, the worked
solution (tag ``exercise-solution``, collapsed in JupyterLab, rerunning the check) and
``{solution-end}``. ``tests/test_exercises.py`` reads the cells by these tags.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path


def _md(text: str) -> dict:
    return {
        "cell_type": "markdown",
        "id": uuid.uuid4().hex[:8],
        "metadata": {},
        "source": text.strip("\n").splitlines(True),
    }


def _code(src: str, tags: list[str], hidden: bool = False) -> dict:
    meta: dict = {"tags": tags}
    if hidden:
        meta["jupyter"] = {"source_hidden": True}
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": uuid.uuid4().hex[:8],
        "metadata": meta,
        "outputs": [],
        "source": src.strip("\n").splitlines(True),
    }


def exercise_cells(
    label: str,
    title: str,
    prompt: str,
    stub: str,
    check_name: str,
    fn: str,
    solution_text: str,
    solution: str,
) -> list[dict]:
    """The six cells of exercise ``label``, checked by ``check(check_name, fn)``."""
    check_src = f'check("{check_name}", {fn})'
    solution_start = f"```{{solution-start}} {label}\n:class: dropdown\n```"
    return [
        _md(f"```{{exercise-start}} {title}\n:label: {label}\n```\n\n{prompt.strip()}"),
        _code(stub, ["exercise-stub"]),
        _code(check_src, ["exercise-check"]),
        _md(f"```{{exercise-end}}\n```\n\n{solution_start}\n\n{solution_text.strip()}"),
        _code(solution.rstrip() + "\n\n\n" + check_src, ["exercise-solution"], hidden=True),
        _md("```{solution-end}\n```"),
    ]


def insert_cells(path: Path, index: int, cells: list[dict]) -> None:
    """Insert ``cells`` at ``index`` into the notebook at ``path`` (re-execute it after)."""
    nb = json.loads(Path(path).read_text())
    nb["cells"][index:index] = cells
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
