"""The verdict format the chapters print and the appendix parses back."""

import pytest

from scratch.evidence import CAVEAT, CLAIMS, FAILS, HOLDS, decide, parse, verdict

EXPECTED_IDS = (
    [f"C0{i}" for i in range(1, 9)]
    + [f"C1{i}" for i in range(0, 8)]
    + [f"C2{i}" for i in range(0, 10)]
    + [f"C3{i}" for i in range(0, 8)]
    + [f"C4{i}" for i in range(0, 10)]
)


def test_every_curriculum_claim_has_a_statement_and_a_chapter() -> None:
    assert sorted(CLAIMS) == sorted(EXPECTED_IDS)
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


def test_collect_reads_notebook_outputs_and_experiment_verdicts(tmp_path) -> None:
    import json

    from scratch.evidence import collect

    book, results = tmp_path / "book", tmp_path / "results" / "exp" / "smoke"
    book.mkdir()
    results.mkdir(parents=True)
    nb = {
        "cells": [
            {"cell_type": "code", "source": "", "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["C40 holds: a\n", "other\n"]},
                {"output_type": "execute_result", "data": {"text/plain": ["'C41 does not hold: b'"]}},
            ]},
            {"cell_type": "markdown", "source": "C42 holds: not an output"},
        ]
    }  # fmt: skip
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
