"""Each rule of scratch.rules.inside reaches each of its outcomes on made-up inputs."""

from __future__ import annotations

import pytest

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE
from scratch.rules import inside as rules

GROWING = [(9, 31, 116)] * 3


@pytest.mark.parametrize(
    ("change", "trained", "areas", "expected"),
    [
        ([0.5, 0.625, 0.75], [0.5, 0.625, 0.5], GROWING, HOLDS),
        ([0.5, 0.625, 0.75], [0.0, 0.125, 0.0], GROWING, CAVEAT),
        ([0.5, 0.625, 0.75], [0.5, 0.125, 0.0], GROWING, INCONCLUSIVE),
        ([0.125, 0.0, 0.25], [0.0, 0.125, 0.0], GROWING, FAILS),
        ([0.5, 0.625, 0.75], [0.0, 0.125, 0.0], [(9, 10, 11)] * 3, FAILS),
        ([0.5, 0.25, 0.75], [0.0, 0.125, 0.0], GROWING, INCONCLUSIVE),
    ],
)
def test_c05(change, trained, areas, expected) -> None:
    assert rules.c05_edges_then_larger(change, trained, areas) == expected


@pytest.mark.parametrize(
    ("ratio", "near", "whole_left", "expected"),
    [
        ([5, 4, 6], [0.80, 0.82, 0.81], [0.4, 0.5, 0.45], HOLDS),
        ([5, 4, 6], [0.92, 0.91, 0.93], [0.11, 0.1, 0.12], CAVEAT),
        ([5, 4, 6], [0.80, 0.91, 0.81], [0.4, 0.5, 0.45], INCONCLUSIVE),
        ([1, 1.5, 0.8], [0.92, 0.91, 0.93], [0.11, 0.1, 0.12], FAILS),
        ([5, 1.5, 6], [0.92, 0.91, 0.93], [0.11, 0.1, 0.12], INCONCLUSIVE),
    ],
)
def test_c49(ratio, near, whole_left, expected) -> None:
    same, far = [0.95, 0.96, 0.95], [0.78, 0.79, 0.77]
    assert rules.c49_ablation_and_cka_separate_layers(ratio, same, near, far, whole_left) == (
        expected
    )


@pytest.mark.parametrize(
    ("specialised", "prunable", "expected"),
    [
        ([True] * 3, [False] * 3, HOLDS),
        ([True] * 3, [False, True, False], CAVEAT),
        ([False] * 3, [False, True, False], FAILS),
        ([True, False, True], [False] * 3, INCONCLUSIVE),
    ],
)
def test_c16_heads(specialised, prunable, expected) -> None:
    assert rules.c16_heads_split_two_relations(specialised, prunable) == expected


@pytest.mark.parametrize(
    ("n_params", "narrow", "expected"),
    [
        (225_034, 101_770, CAVEAT),
        (225_034, 300_000, HOLDS),
        (250_000, 101_770, FAILS),  # rounds to 300,000 at one significant figure
        (149_999, 101_770, FAILS),
    ],
)
def test_c44(n_params, narrow, expected) -> None:
    assert rules.c44_small_cnn_counts(True, True, True, n_params, 59_074_634, narrow) == expected


def test_c44_fails_on_a_broken_check() -> None:
    assert rules.c44_small_cnn_counts(False, True, True, 225_034, 59_074_634, 101_770) == FAILS
