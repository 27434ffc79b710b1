"""C26 (batch norm works by reducing internal covariate shift): every outcome of the rule,
reached with made-up per-seed measurements."""

from __future__ import annotations

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE
from scratch.rules import RULES
from scratch.rules import regularization as r

LRS = (0.03, 0.1)


def tables(
    noisy_acc,
    noisy_steps=(45, 50, 55),
    bn_drift=(0.01, 0.011, 0.012),
    noisy_drift=(0.9, 1.0, 1.1),
    plain_acc=(0.69, 0.70, 0.71),
    lrs=LRS,
):
    """acc, drift, steps per learning rate; BN 80 %, plain 70 % unless told."""
    acc = {lr: {"plain": plain_acc, "bn": (0.79, 0.80, 0.81), "noisy": noisy_acc} for lr in lrs}
    drift = {lr: {"plain": (0.19, 0.20, 0.21), "bn": bn_drift, "noisy": noisy_drift} for lr in lrs}
    steps = {lr: {"plain": (140, 150, 151), "bn": (28, 30, 32), "noisy": noisy_steps} for lr in lrs}
    return acc, drift, steps


def test_registered():
    assert r.c26_internal_covariate_shift in RULES["C26"]


def test_keeps_most_of_the_benefit_under_more_shift_fails():
    assert r.c26_internal_covariate_shift(*tables((0.78, 0.79, 0.80))) == FAILS


def test_noise_removes_the_benefit_holds():
    assert r.c26_internal_covariate_shift(*tables((0.69, 0.70, 0.71))) == HOLDS
    by_lr = r.c26_by_lr(*tables((0.69, 0.70, 0.71)))
    assert by_lr[0.1]["outcome"] == "lost" and abs(by_lr[0.1]["kept"]) < 1e-9


def test_most_but_not_all_of_the_benefit_lost_is_a_caveat():
    assert r.c26_internal_covariate_shift(*tables((0.72, 0.725, 0.73))) == CAVEAT
    assert r.c26_by_lr(*tables((0.72, 0.725, 0.73)))[0.03]["outcome"] == "partly"


def test_noisy_between_within_spread_of_midpoint_is_inconclusive():
    assert r.c26_internal_covariate_shift(*tables((0.74, 0.75, 0.76))) == INCONCLUSIVE


def test_a_large_slowdown_is_inconclusive():
    out = r.c26_internal_covariate_shift(*tables((0.78, 0.79, 0.80), noisy_steps=(120, 125, 130)))
    assert out == INCONCLUSIVE
    by_lr = r.c26_by_lr(*tables((0.78, 0.79, 0.80), noisy_steps=(120, 125, 130)))
    assert by_lr[0.1]["outcome"] == "kept, slow" and by_lr[0.1]["slowdown"] > 4


def test_bn_with_more_drift_than_plain_fails():
    out = r.c26_internal_covariate_shift(*tables((0.69, 0.70, 0.71), bn_drift=(0.5, 0.5, 0.5)))
    assert out == FAILS


def test_no_injected_shift_is_inconclusive():
    out = r.c26_internal_covariate_shift(*tables((0.78, 0.79, 0.80), noisy_drift=(0.05,) * 3))
    assert out == INCONCLUSIVE


def test_rates_that_disagree_are_inconclusive():
    acc, drift, steps = tables((0.78, 0.79, 0.80))
    acc[0.1]["noisy"] = (0.69, 0.70, 0.71)
    assert r.c26_internal_covariate_shift(acc, drift, steps) == INCONCLUSIVE


def test_too_few_rates_with_a_benefit_is_inconclusive():
    # BN no better than plain at 0.1: only one rate left to judge
    acc, drift, steps = tables((0.78, 0.79, 0.80))
    acc[0.1]["plain"] = (0.79, 0.80, 0.81)
    assert r.c26_internal_covariate_shift(acc, drift, steps) == INCONCLUSIVE
    assert r.c26_by_lr(acc, drift, steps)[0.1]["benefit"] is None
    # a third rate that does show the benefit restores the verdict
    acc3, drift3, steps3 = tables((0.78, 0.79, 0.80), lrs=(0.03, 0.1, 0.3))
    acc3[0.3]["plain"] = (0.79, 0.80, 0.81)
    assert r.c26_internal_covariate_shift(acc3, drift3, steps3) == FAILS


def test_too_few_seeds_is_inconclusive():
    acc, drift, steps = tables((0.78, 0.79, 0.80))
    acc[0.1]["noisy"] = (0.78, 0.79)
    assert r.c26_internal_covariate_shift(acc, drift, steps) == INCONCLUSIVE
    assert r.c26_by_lr(acc, drift, steps) is None
