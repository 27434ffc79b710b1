"""scratch.show renders the library's own source in a notebook cell."""

from __future__ import annotations

import inspect
import textwrap

import pytest

import scratch
from scratch.conv import _conv2d
from scratch.show import SourceCode, resolve, show_source


def test_a_class_by_name_and_by_object_gives_its_current_source() -> None:
    by_name = show_source("scratch.conv.Conv2d")
    assert by_name == show_source(scratch.Conv2d)
    assert by_name.code == inspect.getsource(scratch.Conv2d).rstrip("\n")
    assert by_name.where == "scratch/conv.py: Conv2d"
    assert by_name.code.startswith("class Conv2d(")


def test_a_method_is_dedented_and_a_private_helper_is_reachable() -> None:
    cell = show_source("scratch.recurrent.LSTM._cell")
    assert cell.code.startswith("def _cell(")
    assert cell.code == textwrap.dedent(inspect.getsource(scratch.LSTM._cell)).rstrip("\n")
    assert cell.where == "scratch/recurrent.py: LSTM._cell"
    assert show_source("scratch.conv._conv2d").code == inspect.getsource(_conv2d).rstrip("\n")


def test_the_three_representations_carry_the_code() -> None:
    src = show_source("scratch.dropout.Dropout")
    assert repr(src) == f"# {src.where}\n{src.code}"
    assert "```python\n" + src.code in src._repr_markdown_()
    html = src._repr_html_()
    assert html.startswith('<div class="scratch-source">') and "<style" not in html
    assert "Dropout" in html and "style=" in html  # highlighted with inline styles


@pytest.mark.parametrize("bad", ["scratch.conv.NoSuchLayer", "no_such_package.thing"])
def test_unknown_names_fail_clearly(bad: str) -> None:
    with pytest.raises((AttributeError, ModuleNotFoundError)):
        resolve(bad)


def test_objects_without_python_source_fail_clearly() -> None:
    with pytest.raises(TypeError, match="has no Python source"):
        show_source(len)
    assert isinstance(show_source(show_source), SourceCode)
