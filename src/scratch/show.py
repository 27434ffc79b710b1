"""Show the library's source where the reader is: ``show_source("scratch.conv.Conv2d")`` in a
notebook cell renders the class as highlighted code, the same in the HTML book, JupyterLab
and Colab, and always the code that runs (it is read from the imported module, never
copied into the chapter).

The returned object carries three representations: ``text/html`` (pygments, inline styles,
so no style sheet leaks into the page around it), ``text/markdown`` (a fenced block, for
front ends that prefer it) and ``text/plain`` (the source itself, which is what nbval
compares when the chapter is re-executed).

All three show a docstring's summary and ``Shape:`` section but not its ``Args:`` and
``Examples::`` sections: one line in their place points at the file, where the reader (or
``help()``) finds them. ``SourceCode.code`` keeps the whole source.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

# docstring sections the book leaves to the file (and to help()); the rest are shown
HIDDEN_SECTIONS = {
    "Args:": "Args",
    "Arguments:": "Args",
    "Examples::": "Examples",
    "Examples:": "Examples",
    "Example::": "Examples",
    "Example:": "Examples",
}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _hidden_sections(lines: list[str], first: int, last: int) -> list[tuple[int, int, str]]:
    """``(start, stop, kind)`` of each hidden section in ``lines[first:last]`` (the lines of
    one docstring but its closing one): from the header to the next line that is not
    blank and not indented below the header."""
    found, i = [], first
    while i < last:
        kind = HIDDEN_SECTIONS.get(lines[i].strip())
        if kind is None:
            i += 1
            continue
        stop = i + 1
        while stop < last and (not lines[stop].strip() or _indent(lines[stop]) > _indent(lines[i])):
            stop += 1
        found.append((i, stop, kind))
        i = stop
    return found


def _docstring_spans(code: str) -> list[tuple[int, int]]:
    """0-based ``(first, last)`` lines of every class and function docstring in ``code``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a fragment that does not parse on its own: show it whole
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = node.body[0] if node.body else None
            if (
                isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                spans.append((doc.lineno - 1, doc.end_lineno - 1))
    return sorted(spans)


def without_args_and_examples(code: str, path: str) -> str:
    """``code`` with every docstring's ``Args:`` and ``Examples::`` sections replaced by
    one line, ``(Args and Examples: see the docstring in <path>)``, at the first one."""
    lines = code.split("\n")
    for first, last in reversed(_docstring_spans(code)):
        sections = _hidden_sections(lines, first + 1, last)
        if not sections:
            continue
        kinds = " and ".join(dict.fromkeys(kind for _, _, kind in sections))
        start, stop, _ = sections[0]
        note = " " * _indent(lines[start]) + f"({kinds}: see the docstring in {path})"
        for later_start, later_stop, _ in reversed(sections[1:]):
            if later_stop == last:  # the docstring's end: drop the blank lines above it too
                while not lines[later_start - 1].strip():
                    later_start -= 1
            del lines[later_start:later_stop]
        # keep the blank line that parts the first hidden section from the next one
        blank = [lines[stop - 1]] if stop < last and not lines[stop - 1].strip() else []
        lines[start:stop] = [note, *blank]
    return "\n".join(lines)


@dataclass(frozen=True)
class SourceCode:
    """The source of one object: ``where`` (``scratch/conv.py: Conv2d``) and the code.

    ``code`` is the whole source; ``shown``, what the three representations render, leaves
    out the docstrings' ``Args:`` and ``Examples::`` sections.
    """

    where: str
    code: str

    @property
    def shown(self) -> str:
        return without_args_and_examples(self.code, "src/" + self.where.split(":")[0])

    def __repr__(self) -> str:  # text/plain
        return f"# {self.where}\n{self.shown}"

    def _repr_markdown_(self) -> str:
        return f"`{self.where}`\n\n```python\n{self.shown}\n```"

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(self.shown, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True))
        return (
            '<div class="scratch-source">'
            f'<div style="font-size:0.8em;opacity:0.75">{html.escape(self.where)}</div>'
            '<pre style="line-height:125%;overflow-x:auto;margin:0">'
            f"{body}</pre></div>"
        )


def resolve(target: str) -> Any:
    """The object a dotted name points at, ``"scratch.recurrent.LSTM._cell"``: the longest
    importable module prefix, then attributes."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(f"show_source: no module in {target!r}")


def show_source(target: str | Any) -> SourceCode:
    """The source of a class, function or method, for display in a notebook cell.

    ``target`` is the object itself or its dotted name (``"scratch.conv._conv2d"``;
    the name form also reaches private helpers). Raises ``TypeError`` for objects that
    have no Python source (a builtin, an instance).
    """
    obj = resolve(target) if isinstance(target, str) else target
    try:
        lines, _ = inspect.getsourcelines(obj)
    except TypeError as err:
        raise TypeError(f"show_source: {target!r} has no Python source ({err})") from None
    module = inspect.getmodule(obj)
    path = module.__name__.replace(".", "/") + ".py" if module else "?"
    qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", str(target)))
    where = f"{path}: {qualname}"  # no line numbers: an edit elsewhere in the file keeps it
    return SourceCode(where, textwrap.dedent("".join(lines)).rstrip("\n"))
