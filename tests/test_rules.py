"""The rule registry: every claim (part) is decided by a rule function in scratch.rules,
and every rule is used where the claim is measured."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from scratch.evidence import CLAIMS, VERDICTS
from scratch.rules import RULES

ROOT = Path(__file__).resolve().parents[1]


def _sources() -> str:
    """The code of every chapter cell and every experiment module."""
    text = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text += ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    text += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "experiments").glob("*.py"))]
    return "\n".join(text)


def test_every_rule_decides_a_registered_claim() -> None:
    assert set(RULES) <= set(CLAIMS), sorted(set(RULES) - set(CLAIMS))


def test_every_claim_has_a_rule() -> None:
    assert sorted(set(CLAIMS) - set(RULES)) == []


@pytest.mark.parametrize(
    "fn", [fn for fns in RULES.values() for fn in fns], ids=lambda fn: fn.__name__
)
def test_every_rule_states_itself_and_is_used(fn) -> None:
    doc = inspect.getdoc(fn)
    assert doc and len(doc) > 40, f"{fn.__name__} needs a docstring that states the rule"
    assert fn.__name__ in _sources(), f"{fn.__name__} is not called by any chapter or experiment"
    assert fn.__name__.lower().startswith(fn.claim.lower()), (
        f"{fn.__name__} decides {fn.claim}: start its name with {fn.claim.lower()}_"
    )


def test_rule_outcomes_are_verdicts() -> None:
    """The per-module tests show every outcome is reachable; here: each module has one."""
    modules = {fn.__module__.rsplit(".", 1)[-1] for fns in RULES.values() for fn in fns}
    for module in modules:
        assert (ROOT / "tests" / f"test_rules_{module}.py").exists(), module
    assert len(VERDICTS) == 5
