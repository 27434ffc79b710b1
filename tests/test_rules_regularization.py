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
    assert r.c21_inverted_dropout_matches(True, (1.0, 1.5, 0.5), (1.2, 0.3, 2.0), 1e-12) == HOLDS
    assert r.c21_inverted_dropout_matches(False, (1.0,) * 3, (1.0,) * 3, 1e-12) == FAILS
    assert r.c21_inverted_dropout_matches(True, (1.0,) * 3, (1.0,) * 3, 1e-3) == FAILS
    assert r.c21_inverted_dropout_matches(True, (9.0,) * 3, (1.0,) * 3, 1e-12) == FAILS
    assert r.c21_inverted_dropout_matches(True, (9.0, 1, 1), (1.0,) * 3, 1e-12) == INCONCLUSIVE


def test_c22():
    shrink, agree = (0.06, 0.07, 0.065), (0.99, 0.98, 0.99)
    assert r.c22_implicit_ensemble(shrink, (0.50, 0.52, 0.48), agree) == HOLDS
    assert r.c22_implicit_ensemble(shrink, (0.72, 0.75, 0.70), agree) == CAVEAT
    assert r.c22_implicit_ensemble((0.5,) * 3, (0.72,) * 3, agree) == FAILS
    assert r.c22_implicit_ensemble(shrink, (0.72,) * 3, (0.6,) * 3) == FAILS
    assert r.c22_implicit_ensemble((0.06, 0.5, 0.06), (0.72,) * 3, agree) == INCONCLUSIVE


def test_c23():
    # gap without, gap with, loss without, loss with, accuracy without, accuracy with
    assert r.c23_dropout_reduces_overfitting(HIGH, LOW, HIGH, LOW, LOW, HIGH) == HOLDS
    assert r.c23_dropout_reduces_overfitting(HIGH, LOW, HIGH, LOW, MID, MID) == CAVEAT
    # held-out accuracy falls: the narrower gap comes from fitting worse
    assert r.c23_dropout_reduces_overfitting(HIGH, LOW, HIGH, LOW, HIGH, LOW) == FAILS
    assert r.c23_dropout_reduces_overfitting(LOW, HIGH, HIGH, LOW, MID, MID) == FAILS
    assert r.c23_dropout_reduces_overfitting(MID, WIDE, HIGH, LOW, MID, MID) == INCONCLUSIVE
    two = (0.3, 0.31)
    assert r.c23_dropout_reduces_overfitting(two, two, two, two, two, two) == INCONCLUSIVE


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


def test_c26():
    plain_d, bn_d, noisy_d = (0.20, 0.21, 0.19), (0.012, 0.011, 0.013), (0.99, 1.0, 0.98)
    plain_a, bn_a = (0.68, 0.69, 0.67), (0.80, 0.81, 0.80)
    # the noisy net keeps BN's benefit under more shift than the plain net: fails
    assert (
        r.c26_internal_covariate_shift(plain_d, bn_d, noisy_d, plain_a, bn_a, (0.80, 0.79, 0.81))
        == FAILS
    )
    # the noisy net loses BN's benefit: supports the claim
    assert (
        r.c26_internal_covariate_shift(plain_d, bn_d, noisy_d, plain_a, bn_a, (0.68, 0.67, 0.69))
        == HOLDS
    )
    # in between: inconclusive
    assert (
        r.c26_internal_covariate_shift(plain_d, bn_d, noisy_d, plain_a, bn_a, (0.745, 0.75, 0.755))
        == INCONCLUSIVE
    )
    # BN does not cut the drift at all: it cannot work by cutting it
    assert (
        r.c26_internal_covariate_shift(bn_d, plain_d, noisy_d, plain_a, bn_a, (0.8,) * 3) == FAILS
    )
    # the noise did not restore the drift: nothing tested
    assert (
        r.c26_internal_covariate_shift(plain_d, bn_d, (0.05,) * 3, plain_a, bn_a, (0.8,) * 3)
        == INCONCLUSIVE
    )
    # BN brings no benefit to explain
    assert (
        r.c26_internal_covariate_shift(plain_d, bn_d, noisy_d, bn_a, bn_a, (0.8,) * 3)
        == INCONCLUSIVE
    )
    assert (
        r.c26_internal_covariate_shift(
            (0.2, 0.2), (0.01, 0.01), (1, 1), (0.6, 0.6), (0.8, 0.8), (0.8, 0.8)
        )
        == INCONCLUSIVE
    )


def test_c27():
    # gap plain, gap BN, accuracy BN, accuracy dropout
    assert r.c27_batchnorm_regularizes_and_replaces_dropout(HIGH, LOW, HIGH, LOW) == HOLDS
    assert r.c27_batchnorm_regularizes_and_replaces_dropout(LOW, HIGH, HIGH, LOW) == FAILS
    assert r.c27_batchnorm_regularizes_and_replaces_dropout(HIGH, LOW, LOW, HIGH) == FAILS
    assert r.c27_batchnorm_regularizes_and_replaces_dropout(HIGH, LOW, MID, WIDE) == INCONCLUSIVE
    assert (
        r.c27_batchnorm_regularizes_and_replaces_dropout(
            (0.2, 0.3), (0.1, 0.1), (0.8, 0.8), (0.7, 0.7)
        )
        == INCONCLUSIVE
    )
    assert r.c27_parts(LOW, HIGH, HIGH, LOW) == {"regularizes": False, "replaces": True}
    assert r.c27_parts((0.2, 0.3), LOW, HIGH, LOW) == {"regularizes": None, "replaces": None}


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
