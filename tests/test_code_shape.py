"""The codebase's shape rules that ruff does not check: every function of the package and
the experiments fits a screen (60 lines, decorators and docstring included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 60


def _functions() -> list[tuple[int, str]]:
    found = []
    for folder in ("src", "experiments"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    found.append((node.end_lineno - first + 1, where))
    return found


def test_no_function_is_longer_than_a_screen() -> None:
    functions = _functions()
    assert len(functions) > 300  # the walk found the code
    assert [f"{where} ({n} lines)" for n, where in functions if n > MAX_LINES] == []
