"""Every rule of chapter 3 (scratch.rules.regularization) reaches each of its outcomes on
made-up inputs."""

from __future__ import annotations

import pytest

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE, replicates
from scratch.rules import RULES
from scratch.rules import regularization as r

# three seeds, tight and loose
LOW, HIGH, MID = (0.10, 0.11, 0.12), (0.30, 0.31, 0.32), (0.20, 0.21, 0.22)
WIDE = (0.05, 0.20, 0.35)


def test_every_claim_of_the_chapter_has_one_rule():
    for claim in ("C20", "C21", "C22", "C23", "C24", "C25", "C26", "C27", "C28", "C29"):
        assert len(RULES[claim]) == 1 and RULES[claim][0].__module__ == r.__name__


def test_replicates_and_sequences_are_both_accepted():
    assert r.enough_seeds(replicates(LOW), LOW)
    assert not r.enough_seeds(LOW, (0.1, 0.2))


def test_c20():
    good = dict(unit_rate=(0.499, 0.501, 0.500), frac_50=(0.079, 0.081, 0.080), tv=(0.02,) * 3)
    assert r.c20_dropout_count_is_random(**good, p50_theory=0.0796) == CAVEAT
    bad = dict(unit_rate=(0.45,) * 3, frac_50=(0.079,) * 3, tv=(0.02,) * 3)
    assert r.c20_dropout_count_is_random(**bad, p50_theory=0.0796) == FAILS
    mixed = dict(unit_rate=(0.45, 0.5, 0.5), frac_50=(0.079,) * 3, tv=(0.02,) * 3)
    assert r.c20_dropout_count_is_random(**mixed, p50_theory=0.0796) == INCONCLUSIVE
    assert r.c20_dropout_count_is_random((0.5,), (0.08,), (0.02,), 0.0796) == INCONCLUSIVE


def test_c21():
    ok, off = (0.8, 1.5, 0.3), (150.0, 160.0, 155.0)
    assert r.c21_test_time_scaling(True, ok, ok, off) == HOLDS
    assert r.c21_test_time_scaling(False, ok, ok, off) == FAILS  # eval mode not the identity
    assert r.c21_test_time_scaling(True, (9.0,) * 3, ok, off) == FAILS  # (a) disagrees
    assert r.c21_test_time_scaling(True, ok, (9.0,) * 3, off) == FAILS  # (b) disagrees
    assert r.c21_test_time_scaling(True, (9.0, 1, 1), ok, off) == INCONCLUSIVE
    # the measurement cannot tell the double scaling from the correct rules
    assert r.c21_test_time_scaling(True, ok, ok, (1.0,) * 3) == INCONCLUSIVE
    assert r.c21_test_time_scaling(True, (1.0,), (1.0,), (100.0,)) == INCONCLUSIVE


def test_c22():
    # ReLU floor b^2, ReLU floor ratio, linear-control floor ratio, same-class fraction
    floor, big, none_, agree = (
        (0.02, 0.021, 0.019),
        (30.0, 35.0, 32.0),
        (0.05, -0.1, 0.2),
        (0.99,) * 3,
    )
    assert r.c22_implicit_ensemble(floor, big, none_, agree) == CAVEAT
    # no floor through the ReLU either: weight scaling is the ensemble mean
    assert r.c22_implicit_ensemble((1e-5, -2e-5, 0.0), (0.1, -0.2, 0.0), none_, agree) == HOLDS
    assert r.c22_implicit_ensemble(floor, big, none_, (0.6,) * 3) == FAILS
    # the linear control shows a floor where none can be: the measurement is not trusted
    assert r.c22_implicit_ensemble(floor, big, (3.0,) * 3, agree) == INCONCLUSIVE
    # seeds disagree about the ReLU floor
    assert r.c22_implicit_ensemble(floor, (30.0, 0.5, 32.0), none_, agree) == INCONCLUSIVE
    assert r.c22_implicit_ensemble(floor[:2], big[:2], none_[:2], agree[:2]) == INCONCLUSIVE


def c23_row(train_none, test_none, train_dropout, test_dropout):
    return {
        "train_none": train_none,
        "test_none": test_none,
        "train_dropout": train_dropout,
        "test_dropout": test_dropout,
    }


# per seed: training accuracy 0.99 without dropout
T99 = (0.99, 0.995, 0.985)
LESS = c23_row(T99, (0.70, 0.71, 0.70), (0.90, 0.91, 0.89), (0.75, 0.76, 0.75))  # gap down, test up
ONLY_TRAIN = c23_row(T99, (0.78, 0.78, 0.77), (0.93, 0.92, 0.94), (0.78, 0.77, 0.78))  # test flat
WORSE = c23_row(T99, (0.78, 0.78, 0.77), (0.90, 0.91, 0.89), (0.72, 0.73, 0.72))  # test down
NOISY = c23_row(T99, (0.70, 0.71, 0.70), (0.90, 0.99, 0.80), (0.75, 0.70, 0.80))


def test_c23():
    f = r.c23_dropout_reduces_overfitting
    assert f({1e-3: LESS, 3e-3: LESS}) == HOLDS
    assert f({1e-3: LESS, 3e-3: WORSE}) == CAVEAT
    assert r.c23_by_lr({1e-3: LESS, 3e-3: WORSE}) == {1e-3: True, 3e-3: False}
    # a narrower gap bought only by fitting worse is not less overfitting
    assert r.c23_by_lr({1e-3: ONLY_TRAIN}) == {1e-3: False}
    assert f({1e-3: ONLY_TRAIN, 3e-3: WORSE}) == FAILS
    assert f({1e-3: NOISY, 3e-3: WORSE}) == INCONCLUSIVE
    two = c23_row((0.9, 0.9), (0.7, 0.7), (0.8, 0.8), (0.75, 0.75))
    assert f({1e-3: two}) == INCONCLUSIVE
    assert f({}) == INCONCLUSIVE


def test_c24():
    assert r.c24_batchnorm_mechanism(1e-6, 1e-7, 4.9, 0.0) == HOLDS
    assert r.c24_batchnorm_mechanism(1e-6, 1e-7, 4.9, 0.1) == FAILS


def test_c25():
    # ceilings with BN, without; steps with BN, without
    assert (
        r.c25_batchnorm_higher_lr_faster((3, 3, 3), (0.3, 1, 0.3), (26, 30, 28), (130, 120, 151))
        == HOLDS
    )
    assert (
        r.c25_batchnorm_higher_lr_faster((0.3,) * 3, (3, 3, 3), (26, 30, 28), (130, 120, 151))
        == FAILS
    )
    assert (
        r.c25_batchnorm_higher_lr_faster((3, 3, 3), (0.3,) * 3, (130, 120, 140), (26, 30, 28))
        == FAILS
    )
    assert (
        r.c25_batchnorm_higher_lr_faster((3, 3, 3), (3, 0.3, 3), (26, 30, 28), (130, 120, 151))
        == INCONCLUSIVE
    )
    # a seed at which nothing trains counts as a ceiling below the grid
    assert r.c25_batchnorm_higher_lr_faster((3, 3, 3), (0, 0, 0), (26, 30, 28), (151,) * 3) == HOLDS
    assert (
        r.c25_batchnorm_higher_lr_faster((3, 3), (0.3, 0.3), (26, 30), (130, 120)) == INCONCLUSIVE
    )


# C26: tests/test_rules_c26.py


def c27_row(train_plain, test_plain, train_bn, test_bn, test_dropout):
    return {
        "train_plain": train_plain,
        "test_plain": test_plain,
        "train_bn": train_bn,
        "test_bn": test_bn,
        "test_dropout": test_dropout,
    }


def test_c27():
    f = r.c27_batchnorm_regularizes_and_replaces_dropout
    # BN's gap smaller than plain's and BN at least as good as dropout
    both_ = c27_row(
        (0.90, 0.91, 0.89),
        (0.70, 0.71, 0.70),
        (0.85, 0.86, 0.84),
        (0.76, 0.77, 0.76),
        (0.76, 0.75, 0.77),
    )
    # BN wins on held-out accuracy with a larger gap: faster fitting, not less overfitting
    faster = c27_row(
        (0.78, 0.79, 0.78),
        (0.71, 0.72, 0.71),
        (0.90, 0.89, 0.91),
        (0.76, 0.76, 0.75),
        (0.72, 0.72, 0.71),
    )
    # the gap shrinks but BN falls behind dropout
    behind = c27_row(
        (0.90, 0.91, 0.89),
        (0.70, 0.71, 0.70),
        (0.80, 0.81, 0.79),
        (0.70, 0.71, 0.70),
        (0.80, 0.79, 0.80),
    )
    noisy = c27_row(
        (0.90, 0.91, 0.89),
        (0.70, 0.71, 0.70),
        (0.80, 0.95, 0.70),
        (0.70, 0.75, 0.65),
        (0.70, 0.71, 0.70),
    )
    assert f({1e-3: both_, 3e-3: both_}) == HOLDS
    assert f({1e-3: both_, 3e-3: faster}) == CAVEAT
    assert f({1e-3: faster, 3e-3: behind}) == FAILS
    assert f({1e-3: noisy, 3e-3: faster}) == INCONCLUSIVE
    parts = r.c27_parts({1e-3: faster, 3e-3: behind})
    assert parts[1e-3] == {"regularizes": False, "replaces": True, "gain_without_less_gap": True}
    assert parts[3e-3]["regularizes"] is True and parts[3e-3]["replaces"] is False
    two = c27_row((0.9, 0.9), (0.7, 0.7), (0.8, 0.8), (0.75, 0.75), (0.7, 0.7))
    assert f({1e-3: two}) == INCONCLUSIVE
    assert r.c27_parts({1e-3: two})[1e-3]["regularizes"] is None


def test_c28():
    assert r.c28_batchnorm_placement((0.8, 0.79, 0.81), (0.79, 0.8, 0.78), 276, 0) == CAVEAT
    assert r.c28_batchnorm_placement((0.8,) * 3, (0.5, 0.6, 0.4), 276, 0) == FAILS
    assert r.c28_batchnorm_placement((0.8,) * 3, (0.8,) * 3, 20, 10) == FAILS
    assert r.c28_batchnorm_placement((0.8,) * 3, (0.8, 0.6, 0.8), 276, 0) == INCONCLUSIVE


def test_c29():
    assert r.c29_normalization_axes(1e-5, 0.29, 1e-12) == HOLDS
    assert r.c29_normalization_axes(1e-5, 0.01, 1e-12) == FAILS


@pytest.mark.parametrize("claim", ["C20", "C21", "C22", "C23", "C25", "C26", "C27", "C28"])
def test_rules_that_rest_on_seeds_document_themselves(claim):
    assert len(RULES[claim][0].__doc__.split()) > 20


def test_c52():
    f = r.c52_dropout_prevents_coadaptation
    plain, dropout = (0.20, 0.22, 0.18), (0.03, 0.04, 0.02)
    assert f(plain, dropout) == HOLDS
    assert f(dropout, plain) == FAILS  # the dropout network relies on its units more
    assert f((0.20, 0.03, 0.18), (0.03, 0.04, 0.02)) == INCONCLUSIVE  # one seed disagrees
    assert f((0.05, 0.06, 0.04), (0.04, 0.05, 0.03)) == INCONCLUSIVE  # within the spread
    assert f(plain[:2], dropout[:2]) == INCONCLUSIVE
