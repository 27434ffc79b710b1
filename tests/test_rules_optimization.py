"""Each rule of scratch.rules.optimization reaches each of its outcomes on made-up inputs."""

from __future__ import annotations

import pytest

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE
from scratch.rules import optimization as rules


@pytest.mark.parametrize(
    ("zero_acc", "xavier_acc", "zero_spread", "expected"),
    [
        ([0.08, 0.08, 0.08], [0.95, 0.94, 0.96], [0, 0, 0], HOLDS),
        ([0.9, 0.9, 0.9], [0.1, 0.12, 0.11], [0, 0, 0], FAILS),  # Xavier far below zero
        ([0.08, 0.08, 0.08], [0.95, 0.94, 0.96], [0.1, 0.2, 0.3], FAILS),  # symmetry broke
        ([0.08, 0.08, 0.08], [0.95, 0.94, 0.96], [0, 0, 0.1], INCONCLUSIVE),
        ([0.08, 0.08, 0.08], [0.9, 0.05, 0.6], [0, 0, 0], INCONCLUSIVE),  # spread too wide
    ],
)
def test_c42(zero_acc, xavier_acc, zero_spread, expected) -> None:
    got = rules.c42_zero_init_poor(
        zero_spread, [0, 0, 0], [0.0003, 0.0003, 0.0003], xavier_acc, zero_acc
    )
    assert got == expected


@pytest.mark.parametrize(
    ("he", "plain", "expected"),
    [
        ([1.05, 0.9, 1.1], [0.8, 0.9, 0.7], HOLDS),
        ([1.05, 0.9, 1.1], [0.26, 0.25, 0.27], CAVEAT),
        ([1.05, 0.9, 1.1], [0.26, 0.6, 0.27], INCONCLUSIVE),
        ([0.1, 0.2, 0.15], [0.26, 0.25, 0.27], FAILS),
        ([0.1, 0.9, 1.0], [0.26, 0.25, 0.27], INCONCLUSIVE),
    ],
)
def test_c43(he, plain, expected) -> None:
    assert rules.c43_xavier_he_steady(he, [0.85, 0.9, 0.8], plain, [0.5, 0.49, 0.51]) == expected


@pytest.mark.parametrize(
    ("diverged", "low", "expected"),
    [
        ([True, True, True], [0.016, 0.02, 0.01], HOLDS),
        ([False, False, False], [0.016, 0.02, 0.01], FAILS),
        ([True, True, True], [0.2, 0.3, 0.25], FAILS),
        ([True, False, True], [0.016, 0.02, 0.01], INCONCLUSIVE),
    ],
)
def test_c45(diverged, low, expected) -> None:
    got = rules.c45_lr_oscillates_or_crawls([83, 80, 70], diverged, low, [0.99, 0.98, 0.99], 99)
    assert got == expected


@pytest.mark.parametrize(
    ("exploded", "trained", "median", "expected"),
    [
        ([True] * 5, [True] * 5, [6.0, 5.0, 7.0, 6.5, 5.5], CAVEAT),
        ([True] * 5, [True] * 5, [0.5, 0.4, 0.6, 0.3, 0.2], HOLDS),
        ([True] * 5, [True] * 5, [0.5, 2.0, 0.6, 0.3, 0.2], INCONCLUSIVE),
        ([True] * 5, [False] * 5, [6.0, 5.0, 7.0, 6.5, 5.5], FAILS),
        ([False] * 5, [True] * 5, [6.0, 5.0, 7.0, 6.5, 5.5], FAILS),
        ([True, True, False, True, True], [True] * 5, [6.0, 5.0, 7.0, 6.5, 5.5], INCONCLUSIVE),
    ],
)
def test_c46(exploded, trained, median, expected) -> None:
    assert rules.c46_clipping_prevents_explosion(exploded, trained, median) == expected


@pytest.mark.parametrize(
    ("sigmoid", "tanh_xavier", "expected"),
    [
        ([7e-17, 1e-16, 5e-17], [1.1, 1.0, 1.2], CAVEAT),
        ([7e-17, 1e-16, 5e-17], [0.01, 0.02, 0.03], HOLDS),
        ([7e-17, 1e-16, 5e-17], [1.1, 0.02, 1.2], INCONCLUSIVE),
        ([0.5, 0.8, 0.9], [1.1, 1.0, 1.2], FAILS),
        ([1e-5, 0.8, 1e-6], [1.1, 1.0, 1.2], INCONCLUSIVE),
    ],
)
def test_c47_mlp(sigmoid, tanh_xavier, expected) -> None:
    got = rules.c47_mlp_activation_init(
        sigmoid, [6e-4, 5e-4, 7e-4], [2e-6, 1e-6, 3e-6], tanh_xavier, [0.96, 0.9, 1.0]
    )
    assert got == expected


def test_c51():
    f = rules.c51_gradient_normalization_stabilizes
    exploded, trained = (True,) * 5, (True,) * 5
    assert f(exploded, trained) == HOLDS
    assert f(exploded, (False,) * 5) == FAILS
    assert f(exploded, (True, True, False, True, True)) == INCONCLUSIVE
    assert f((True, False, True, True, True), trained) == INCONCLUSIVE  # nothing to stabilize


def test_c53():
    f = rules.c53_weight_decay_reduces_overfitting
    gap_plain, gap_decay = (0.30, 0.32, 0.28), (0.10, 0.12, 0.09)
    test_plain, test_better = (0.70, 0.68, 0.72), (0.85, 0.86, 0.84)
    assert f(gap_plain, gap_decay, test_plain, test_better) == HOLDS
    assert f(gap_plain, gap_decay, test_plain, test_plain) == CAVEAT  # smaller gap only
    assert f(gap_decay, gap_plain, test_plain, test_better) == FAILS
    assert f((0.30, 0.05, 0.28), gap_decay, test_plain, test_better) == INCONCLUSIVE
    assert f(gap_plain[:2], gap_decay[:2], test_plain[:2], test_better[:2]) == INCONCLUSIVE
