"""scratch.show renders the library's own source in a notebook cell."""

from __future__ import annotations

import inspect
import textwrap

import pytest

import scratch
from scratch.conv import _conv2d
from scratch.show import SourceCode, resolve, show_source, without_args_and_examples


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
    assert repr(src) == f"# {src.where}\n{src.shown}"
    assert "```python\n" + src.shown in src._repr_markdown_()
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


LAYER = '''class Layer(nn.Module):
    r"""Summary: :math:`y = x`.

    Args:
        size: width of the input.
        bias: add a bias.

            A second paragraph of the same argument.

    Shape:
        - Input: :math:`(N, H)`.

    Examples::

        >>> m = Layer(3)
        >>> m(torch.zeros(2, 3)).shape
        torch.Size([2, 3])
    """

    def forward(self, x):
        """The identity.

        Args:
            x: the input.
        """
        return x'''

SHOWN = '''class Layer(nn.Module):
    r"""Summary: :math:`y = x`.

    (Args and Examples: see the docstring in src/scratch/layer.py)

    Shape:
        - Input: :math:`(N, H)`.
    """

    def forward(self, x):
        """The identity.

        (Args: see the docstring in src/scratch/layer.py)
        """
        return x'''


def test_args_and_examples_give_way_to_one_line_summary_and_shape_stay() -> None:
    assert without_args_and_examples(LAYER, "src/scratch/layer.py") == SHOWN


def test_the_three_representations_show_the_short_docstring_and_code_keeps_all() -> None:
    src = SourceCode("scratch/layer.py: Layer", LAYER)
    assert src.code == LAYER and src.shown == SHOWN
    assert repr(src) == f"# scratch/layer.py: Layer\n{SHOWN}"
    assert "```python\n" + SHOWN + "\n```" in src._repr_markdown_()
    html = src._repr_html_()
    for rendered in (repr(src), src._repr_markdown_(), html):
        assert "width of the input" not in rendered and "torch.Size([2, 3])" not in rendered
        assert "Shape:" in rendered and "Summary" in rendered and "src/scratch/layer.py" in rendered


def test_code_without_hidden_sections_or_that_does_not_parse_is_shown_whole() -> None:
    plain = 'def f(x):\n    """Summary.\n\n    Shape:\n        - x: any.\n    """\n    return x'
    assert without_args_and_examples(plain, "src/f.py") == plain
    fragment = "lambda x: x  # Args:"
    assert without_args_and_examples(fragment, "src/f.py") == fragment


def test_a_real_model_is_shown_without_its_args() -> None:
    src = show_source("scratch.models.mlp.MLP")
    assert "    Args:\n" in src.code and "Args:" not in src.shown.split("(Args")[0]
    assert "(Args" in src.shown and "see the docstring in src/scratch/models/mlp.py" in src.shown
    assert "    Shape:\n" in src.shown and src.shown.startswith("class MLP(")
