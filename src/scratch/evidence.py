"""Claim verdicts: the one way the book states whether a claim held.

A chapter measures something, decides, and calls :func:`verdict`, which prints one line
that starts with the claim id::

    C40 holds: two stacked linear layers equal one linear layer to 2.4e-07

The evidence appendix collects these lines from the executed chapters, so the ledger is
built from the same runs that nbval re-checks, never typed by hand.
"""

from __future__ import annotations

import re

HOLDS = "holds"
CAVEAT = "holds with a caveat"
FAILS = "does not hold"
UNTESTABLE = "not testable"
VERDICTS = (HOLDS, CAVEAT, FAILS, UNTESTABLE)

_CLAIM_ID = re.compile(r"^C\d{2}$")
# A printed verdict line, as the appendix parses it back.
LINE = re.compile(r"^(C\d{2}) (holds with a caveat|holds|does not hold|not testable): (.+)$")


def verdict(claim: str, status: str, evidence: str) -> str:
    """Print and return ``"<claim> <status>: <evidence>"``.

    ``status`` must be one of :data:`VERDICTS` and should be computed from a measurement
    in the same run, e.g. ``HOLDS if err < 1e-5 else FAILS``.
    """
    if not _CLAIM_ID.match(claim):
        raise ValueError(f"verdict: claim id must look like 'C07', got {claim!r}")
    if status not in VERDICTS:
        raise ValueError(f"verdict: status must be one of {VERDICTS}, got {status!r}")
    if not evidence or "\n" in evidence:
        raise ValueError("verdict: evidence must be one non-empty line")
    line = f"{claim} {status}: {evidence}"
    print(line)
    return line


def decide(condition: bool, caveat: bool = False) -> str:
    """``HOLDS``/``CAVEAT`` when ``condition`` is true, ``FAILS`` otherwise."""
    if not condition:
        return FAILS
    return CAVEAT if caveat else HOLDS


def parse(text: str) -> list[tuple[str, str, str]]:
    """All ``(claim, status, evidence)`` triples printed in ``text``."""
    return [m.groups() for m in map(LINE.match, text.splitlines()) if m]
