"""The verdict format the chapters print and the appendix parses back."""

import math

import pytest

from scratch.evidence import (
    CAVEAT,
    CLAIMS,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    RULE_CHANGES,
    UNTESTABLE,
    VERDICTS,
    above,
    as_replicates,
    both,
    compare,
    decide,
    deciding,
    either,
    enough_seeds,
    every_flag,
    every_seed,
    fmt_seeds,
    negate,
    parse,
    replicates,
    seed_values,
    summary,
    too_few_seeds,
    verdict,
    with_caveat,
)

# the curriculum's C01-C49, plus C09 (the locality prior that the MNIST-1D shuffle tests,
# once filed under C04)
EXPECTED_IDS = (
    [f"C0{i}" for i in range(1, 10)]
    + [f"C1{i}" for i in range(0, 8)]
    + [f"C2{i}" for i in range(0, 10)]
    + [f"C3{i}" for i in range(0, 8)]
    + [f"C4{i}" for i in range(0, 10)]
)


def test_every_curriculum_claim_has_a_statement_and_a_chapter() -> None:
    """A claim is registered in one place, scratch.evidence.CLAIMS: every curriculum id
    is there, and a new claim or claim part needs nothing but its line there."""
    import re

    # a compound claim is registered as its parts (C34a, C34b, ...), never also as a whole
    assert set(EXPECTED_IDS) <= {claim[:3] for claim in CLAIMS}
    assert all(re.fullmatch(r"C\d\d[a-z]?", claim) for claim in CLAIMS), sorted(CLAIMS)
    for claim in CLAIMS:
        assert not (claim[:3] in CLAIMS and len(claim) > 3), f"{claim[:3]} is split, drop it"
    for statement, chapter in CLAIMS.values():
        assert statement.endswith(".") and chapter


def test_verdict_prints_one_parseable_line(capsys) -> None:
    assert verdict("C40", HOLDS, "max |difference| < 1e-6") is None
    line = capsys.readouterr().out
    assert line == "C40 holds: max |difference| < 1e-6\n"
    assert parse("noise\n" + line + "more") == [("C40", "holds", "max |difference| < 1e-6")]
    verdict("C48", CAVEAT, "2^k pieces")
    assert parse(capsys.readouterr().out) == [("C48", "holds with a caveat", "2^k pieces")]


@pytest.mark.parametrize(
    ("claim", "status", "evidence", "error"),
    [
        ("40", HOLDS, "x", ValueError),
        ("C34ab", HOLDS, "x", ValueError),
        ("C40", "mostly", "x", ValueError),
        ("C40", HOLDS, "", ValueError),
        ("C40", HOLDS, "two\nlines", ValueError),
    ],
)
def test_verdict_rejects_malformed_input(claim, status, evidence, error) -> None:
    with pytest.raises(error):
        verdict(claim, status, evidence)


def test_decide() -> None:
    assert decide(True) == HOLDS
    assert decide(True, caveat=True) == CAVEAT
    assert decide(False, caveat=True) == FAILS
    assert decide(None) == INCONCLUSIVE
    assert decide(None, caveat=True) == INCONCLUSIVE


def test_claim_parts_and_the_new_outcome_parse() -> None:
    text = "C34a inconclusive: 21.0 ± 1.2 % vs 22.0 ± 0.9 %\nC34b holds: x"
    assert parse(text) == [
        ("C34a", INCONCLUSIVE, "21.0 ± 1.2 % vs 22.0 ± 0.9 %"),
        ("C34b", HOLDS, "x"),
    ]


def test_both_is_a_three_valued_and() -> None:
    assert both(True, True) is True
    assert both(True, None) is None
    assert both(None, False) is False
    assert both() is True


def test_replicates_mean_sd_and_format() -> None:
    r = replicates([0.70, 0.80, 0.90])
    assert r.n == 3 and math.isclose(r.mean, 0.8) and math.isclose(r.sd, 0.1)
    assert r.pct() == "80.0 ± 10.0 %"
    assert r.fmt(".2f") == "0.80 ± 0.10"
    with pytest.raises(ValueError, match="at least 3 seeds"):
        replicates([1.0, 2.0])


@pytest.mark.parametrize(
    ("a", "b", "min_effect", "expected"),
    [
        ([10, 11, 12], [1, 2, 3], 0.0, 1),  # gap 9 > sd 1 + sd 1
        ([1, 2, 3], [10, 11, 12], 0.0, -1),
        ([1, 2, 3], [2, 3, 4], 0.0, 0),  # gap 1 < 2: the seeds cannot tell
        ([10, 11, 12], [1, 2, 3], 20.0, 0),  # separated, but smaller than the claim's size
        ([5, 5, 5], [4, 4, 4], 0.0, 1),  # no spread at all: any gap separates
    ],
)
def test_compare_uses_the_margin_rule(a, b, min_effect, expected) -> None:
    ra, rb = replicates(a), replicates(b)
    assert compare(ra, rb, min_effect) == expected
    assert above(ra, rb, min_effect) == {1: True, -1: False, 0: None}[expected]


def test_every_seed() -> None:
    assert every_seed([1, 2, 3], lambda v: v > 0) is True
    assert every_seed([1, 2, 3], lambda v: v > 5) is False
    assert every_seed([1, 2, 3], lambda v: v > 2) is None
    with pytest.raises(ValueError, match="at least 3 seeds"):
        every_seed([1], lambda v: True)


def _row(claim, verdict_, source):
    return {"claim": claim, "verdict": verdict_, "evidence": "e", "source": source}


def test_the_largest_budget_decides_and_smoke_is_left_out() -> None:
    rows = [
        _row("C23", HOLDS, "03_regularization"),
        _row("C23", INCONCLUSIVE, "experiment dropout_vs_batchnorm (cpu)"),
        _row("C25", UNTESTABLE, "experiment dropout_vs_batchnorm (smoke)"),
        _row("C25", HOLDS, "03_regularization"),
        _row("C16", HOLDS, "02_sequences"),
        _row("C16", CAVEAT, "06_looking_inside"),
        _row("C34c", FAILS, "experiment resnet_depth (cpu)"),
        _row("C34c", HOLDS, "experiment resnet_depth (full)"),
        _row("C47", CAVEAT, "04_gradient_flow"),
        _row("C47", FAILS, "experiment resnet_depth (cpu)"),
        _row("C15", INCONCLUSIVE, "02_sequences"),
        _row("C15", UNTESTABLE, "experiment lstm_vs_transformer (cpu)"),
    ]
    decided = deciding(rows)
    assert decided["C23"]["verdict"] == HOLDS  # a decision over an undecided larger run
    assert decided["C25"]["verdict"] == HOLDS  # the smoke run does not count
    assert decided["C16"]["verdict"] == CAVEAT  # equal budgets: the more cautious
    assert decided["C34c"]["verdict"] == HOLDS  # full over cpu
    assert decided["C47"]["verdict"] == FAILS  # both decided: the larger budget
    assert decided["C15"]["verdict"] == UNTESTABLE  # neither decided: the more cautious
    counts = summary(rows, ["C23", "C25", "C16", "C34c", "C47", "C15", "C40"])
    assert counts[HOLDS] == 3 and counts[CAVEAT] == 1 and counts[FAILS] == 1
    assert counts[UNTESTABLE] == 1 and counts[INCONCLUSIVE] == 0
    assert counts["no check yet"] == 1 and counts["undecided"] == 1
    assert sum(counts[v] for v in VERDICTS) + counts["no check yet"] == 7


def test_rule_changes_are_complete_records() -> None:
    assert RULE_CHANGES[0]["claim"] == "C12"
    for change in RULE_CHANGES:
        assert set(change) == {"claim", "where", "before", "after", "reason"}
        assert all(change.values())


def test_collect_reads_notebook_outputs_and_experiment_verdicts(tmp_path) -> None:
    import json

    from scratch.evidence import collect

    book, results = tmp_path / "book", tmp_path / "results" / "exp" / "smoke"
    book.mkdir()
    results.mkdir(parents=True)
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": "",
                "outputs": [
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": ["C40 holds: a\n", "other\n"],
                    },
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": ["'C41 does not hold: b'"]},
                    },
                ],
            },
            {"cell_type": "markdown", "source": "C42 holds: not an output"},
        ]
    }
    (book / "00_ch.ipynb").write_text(json.dumps(nb))
    (results / "verdicts.txt").write_text("C34 holds with a caveat: c\n")
    rows = collect(book, tmp_path / "results")
    assert [(r["claim"], r["verdict"], r["source"]) for r in rows] == [
        ("C40", "holds", "00_ch"),
        ("C34", "holds with a caveat", "experiment exp (smoke)"),
    ]


def test_format_verdict_returns_the_line_without_printing(capsys) -> None:
    from scratch.evidence import format_verdict

    assert (
        format_verdict("C23", FAILS, "gap 3.1 -> 3.4 points")
        == "C23 does not hold: gap 3.1 -> 3.4 points"
    )
    assert capsys.readouterr().out == ""


def test_three_valued_helpers_of_the_rules() -> None:
    assert either([False, None, True]) is True
    assert either([False, False]) is False
    assert either([False, None]) is None
    assert negate(True) is False and negate(False) is True and negate(None) is None
    assert every_flag([True, True, True]) is True
    assert every_flag([False, False, False]) is False
    assert every_flag([True, False, True]) is None


@pytest.mark.parametrize(
    ("condition", "caveat", "expected"),
    [
        (True, True, CAVEAT),
        (True, False, HOLDS),
        (True, None, INCONCLUSIVE),  # the seeds disagree about the caveat
        (False, True, FAILS),
        (None, False, INCONCLUSIVE),
    ],
)
def test_with_caveat(condition, caveat, expected) -> None:
    assert with_caveat(condition, caveat) == expected


def test_seed_groups_are_counted_and_shown() -> None:
    three, two = [0.1, 0.2, 0.3], (0.5, 0.6)
    assert seed_values(replicates(three)) == seed_values(three) == (0.1, 0.2, 0.3)
    assert as_replicates(three) == replicates(three)
    assert enough_seeds(three, replicates(three), None, {25: three, 50: three})
    assert not enough_seeds(three, two)
    assert not enough_seeds({25: three, 50: two})
    assert fmt_seeds(three, ".1f", 100.0, " %") == "20.0 ± 10.0 %"
    assert fmt_seeds(two, ".1f", 100.0, " %") == "50.0/60.0 %"
    assert too_few_seeds(3) == ""
    assert too_few_seeds(1) == "; 1 seed(s): too few to decide (a verdict needs 3)"
