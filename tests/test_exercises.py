"""Self-checking exercises: every chapter 0-7 has at least two, and each check passes the
chapter's worked solution and rejects the chapter's stub with a message, not a traceback.

The cells are read from the notebooks and run in a namespace that holds only what the
exercise cells may use (``math``, ``torch``, ``nn``, ``check``), so a stub or solution
that leans on a chapter variable fails here.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from scratch.exercises import check, names, run_check

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("0[0-7]_*.ipynb"))


def _cells(path: Path, tag: str) -> list[str]:
    nb = json.loads(path.read_text())
    return [
        "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "code" and tag in c.get("metadata", {}).get("tags", [])
    ]


def _checked(source: str) -> tuple[str, str]:
    """``check("name", fn)`` -> ("name", "fn"): the last call to check in a cell."""
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"
    ]
    assert calls, f"no check(...) call in:\n{source}"
    name, fn = calls[-1].args
    return name.value, fn.id


def _exercises() -> list[tuple[str, str, str, str, str]]:
    found = []
    for path in CHAPTERS:
        stubs = _cells(path, "exercise-stub")
        checks = _cells(path, "exercise-check")
        solutions = _cells(path, "exercise-solution")
        assert len(stubs) == len(checks) == len(solutions), path.name
        for stub, chk, sol in zip(stubs, checks, solutions):
            found.append((path.stem, stub, chk, sol, _checked(chk)[0]))
    return found


EXERCISES = _exercises()


def _run(source: str) -> tuple[dict, str]:
    namespace = {"math": math, "torch": torch, "nn": nn, "check": check}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<exercise cell>", "exec"), namespace)
    return namespace, out.getvalue()


@pytest.mark.parametrize("chapter", [p.stem for p in CHAPTERS])
def test_every_chapter_has_two_self_checking_exercises(chapter):
    assert sum(e[0] == chapter for e in EXERCISES) >= 2, chapter


@pytest.mark.parametrize(
    "chapter, stub, check_cell, solution, name",
    EXERCISES,
    ids=[f"{e[0]}:{e[4]}" for e in EXERCISES],
)
def test_check_rejects_the_stub_and_accepts_the_solution(chapter, stub, check_cell, solution, name):
    assert "raise NotImplementedError" in stub
    check_name, fn = _checked(check_cell)
    assert _checked(solution) == (check_name, fn), "the solution runs the same check"

    namespace, _ = _run(stub)
    result = run_check(name, namespace[fn])
    assert not result.passed
    _, shown = _run(stub + "\n\n" + check_cell)  # the check cell itself never raises
    assert shown.strip() == result.message
    assert result.message.startswith("…") and "not attempted yet" in result.message

    namespace, shown = _run(solution)
    result = run_check(name, namespace[fn])
    assert result.passed, result.message
    assert shown.strip() == result.message and result.message.startswith("✓")


def test_every_registered_check_is_used_by_a_chapter():
    assert sorted({e[4] for e in EXERCISES}) == names()


def test_a_wrong_answer_gets_a_message_not_a_traceback():
    def linear_forward(x, weight, bias):
        return x @ weight  # forgot the transpose

    result = run_check("linear_forward", linear_forward)
    assert not result.passed and result.message.startswith("✗ linear_forward:")
    assert "raised RuntimeError" in result.message or "shape" in result.message

    result = run_check(
        "mlp_parameter_count", lambda widths: sum(a * b for a, b in zip(widths, widths[1:]))
    )
    assert not result.passed and "expected 203530, got 203264" in result.message

    assert not run_check("mlp_parameter_count", lambda widths: None)
    assert "returned None" in run_check("mlp_parameter_count", lambda widths: None).message
    assert "no exercise called" in run_check("no_such_exercise", len).message
    assert "expected a function" in run_check("linear_forward", 3).message


def test_the_cell_builder_makes_cells_this_test_reads() -> None:
    from tools.exercise_cells import exercise_cells

    cells = exercise_cells(
        label="ex-x",
        title="T",
        prompt="p",
        stub="def f(x):\n    raise NotImplementedError",
        check_name="linear_forward",
        fn="f",
        solution_text="s",
        solution="def f(x):\n    return x",
    )
    tags = [c["metadata"].get("tags", []) for c in cells]
    assert tags[1:3] == [["exercise-stub"], ["exercise-check"]] and tags[4] == ["exercise-solution"]
    check_cell = "".join(cells[2]["source"])
    assert _checked(check_cell) == ("linear_forward", "f")
    assert _checked("".join(cells[4]["source"])) == ("linear_forward", "f")
    assert cells[4]["metadata"]["jupyter"]["source_hidden"] is True
    assert "{solution-start} ex-x" in "".join(cells[3]["source"])
