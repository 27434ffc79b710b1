"""Every public layer and model documents itself the way torch.nn does: ``Args:`` for its
constructor, ``Shape:`` for its input and output, and ``Examples::`` that run as doctests
(``pytest --doctest-modules src/scratch`` in ``make test``)."""

from __future__ import annotations

import inspect

import pytest

import scratch
import scratch.models

LAYERS = sorted(n for n in scratch._EXPORTS if inspect.isclass(getattr(scratch, n)))
MODELS = sorted(
    n
    for n, obj in vars(scratch.models).items()
    if inspect.isclass(obj) and not n.startswith("_") and obj.__module__.startswith("scratch.")
)


def _documented(obj: type) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    missing = [section for section in ("Shape:", "Examples::") if section not in doc]
    params = list(inspect.signature(obj.__init__).parameters.values())[1:]  # beyond self
    named = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    takes_args = any(p.kind in named for p in params)
    if takes_args and "Args:" not in doc:
        missing.append("Args:")
    if "Examples::" in doc and ">>>" not in doc.split("Examples::", 1)[1]:
        missing.append("a doctest under Examples::")
    return missing


@pytest.mark.parametrize("name", LAYERS)
def test_every_public_layer_has_args_shape_and_examples(name: str) -> None:
    assert _documented(getattr(scratch, name)) == [], name


@pytest.mark.parametrize("name", MODELS)
def test_every_public_model_has_args_shape_and_examples(name: str) -> None:
    assert _documented(getattr(scratch.models, name)) == [], name


def test_the_lists_are_not_empty() -> None:
    assert len(LAYERS) > 25 and len(MODELS) > 5
