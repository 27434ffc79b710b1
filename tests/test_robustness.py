"""tools.robustness: the verdict comparison and its report."""

from __future__ import annotations

from tools.robustness import VARIANTS, compare


def test_identical_verdicts_pass() -> None:
    committed = {"a.ipynb": [("C10", "holds"), ("C11", "inconclusive")]}
    runs = {(v, "a.ipynb"): list(committed["a.ipynb"]) for v in VARIANTS}
    rows, problems = compare(committed, runs)
    assert problems == []
    assert rows == [
        ["C10", "a", "holds", "holds", "holds"],
        ["C11", "a", "inconclusive", "inconclusive", "inconclusive"],
    ]


def test_a_changed_missing_or_failed_verdict_is_a_difference() -> None:
    committed = {"a.ipynb": [("C10", "holds"), ("C11", "holds")]}
    runs = {
        ("numeric", "a.ipynb"): [("C10", "holds"), ("C11", "does not hold")],
        ("reseeded", "a.ipynb"): [("C10", "holds")],
    }
    rows, problems = compare(committed, runs)
    assert any("C11 in a.ipynb: committed 'holds', numeric 'does not hold'" in p for p in problems)
    assert any("printed claims ['C10'] instead of ['C10', 'C11']" in p for p in problems)
    assert rows[1][-1] == "-"
    runs[("reseeded", "a.ipynb")] = "failed: NameError"
    _, problems = compare(committed, runs)
    assert "a.ipynb (reseeded): failed: NameError" in problems


def test_variants_move_the_numeric_path_and_the_seeds() -> None:
    assert VARIANTS["numeric"]["ATEN_CPU_CAPABILITY"] == "default"
    assert int(VARIANTS["reseeded"]["SCRATCH_SEED_OFFSET"]) != 0


def test_verdicts_are_matched_by_claim_not_by_position() -> None:
    committed = {"a.ipynb": [("C10", "holds"), ("C11", "holds")]}
    inserted = [("C10", "holds"), ("C99", "does not hold"), ("C11", "holds")]
    runs = {(v, "a.ipynb"): inserted for v in VARIANTS}
    rows, problems = compare(committed, runs)
    assert problems == [
        f"a.ipynb ({v}): printed claims ['C10', 'C99', 'C11'] instead of ['C10', 'C11']"
        for v in VARIANTS
    ]  # the new claim is reported, and C11 is not compared with C99
    assert rows[1] == ["C11", "a", "holds", "holds", "holds"]
