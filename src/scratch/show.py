"""Show the library's source where the reader is: ``show_source("scratch.conv.Conv2d")`` in a
notebook cell renders the class as highlighted code, the same in the HTML book, JupyterLab
and Colab, and always the code that runs (it is read from the imported module, never
copied into the chapter).

The returned object carries three representations: ``text/html`` (pygments, inline styles,
so no style sheet leaks into the page around it), ``text/markdown`` (a fenced block, for
front ends that prefer it) and ``text/plain`` (the source itself, which is what nbval
compares when the chapter is re-executed).
"""

from __future__ import annotations

import html
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceCode:
    """The source of one object: ``where`` (``scratch/conv.py: Conv2d``) and the code."""

    where: str
    code: str

    def __repr__(self) -> str:  # text/plain
        return f"# {self.where}\n{self.code}"

    def _repr_markdown_(self) -> str:
        return f"`{self.where}`\n\n```python\n{self.code}\n```"

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(self.code, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True))
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
