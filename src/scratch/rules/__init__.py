"""One rule function per claim (part): how a measurement becomes a verdict.

A chapter and an experiment that test the same claim call the same function here, so
they cannot disagree about what the numbers mean. Each rule takes measurements (per-seed
values as :class:`scratch.evidence.Replicates` where training is involved) and returns
one of :data:`scratch.evidence.VERDICTS`. The tests in ``tests/test_rules.py`` show
that every rule can reach each of its outcomes on made-up inputs.

Rules are written before the run they judge. Changing one after its data were seen is
allowed only with an entry in :data:`scratch.evidence.RULE_CHANGES`.

The rules live in one module per part of the book; :data:`RULES` maps each claim id to
its rule functions.
"""

from __future__ import annotations

from collections.abc import Callable

#: claim id -> the rule functions that decide it (a claim checked two ways has two).
RULES: dict[str, list[Callable[..., str]]] = {}


def rule(claim: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register the decorated function as a rule for ``claim``."""

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        RULES.setdefault(claim, []).append(fn)
        fn.claim = claim  # type: ignore[attr-defined]
        return fn

    return register


from . import (  # noqa: E402  (the modules register their rules with the decorator above)
    dense,
    gradient_flow,
    inside,
    optimization,
    regularization,
    sequences,
)

__all__ = [
    "RULES",
    "rule",
    "dense",
    "gradient_flow",
    "inside",
    "optimization",
    "regularization",
    "sequences",
]
