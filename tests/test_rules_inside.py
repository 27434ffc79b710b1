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


DROPS = {"relu1": [0.06, 0.07, 0.05], "relu2": [0.03, 0.035, 0.025], "relu3": [0.01, 0.012, 0.008]}
FLAT_DROPS = {
    "relu1": [0.02, 0.03, 0.01],
    "relu2": [0.02, 0.025, 0.015],
    "relu3": [0.02, 0.01, 0.03],
}
TRAINED = ([0.90, 0.91, 0.92], [0.60, 0.61, 0.62])  # margin 0.30
UNTRAINED = ([0.95, 0.96, 0.94], [0.85, 0.86, 0.84])  # margin 0.10
UNTRAINED_WIDER = ([0.95, 0.96, 0.94], [0.45, 0.46, 0.44])  # margin 0.50
UNTRAINED_NOISY = ([0.95, 0.96, 0.94], [0.75, 0.56, 0.84])  # margin 0.20 ± 0.14


@pytest.mark.parametrize(
    ("drops", "untrained", "untrained_hidden", "expected"),
    [
        (DROPS, UNTRAINED, UNTRAINED, HOLDS),
        (DROPS, UNTRAINED, UNTRAINED_WIDER, CAVEAT),  # rests on the logits
        (FLAT_DROPS, UNTRAINED, UNTRAINED, INCONCLUSIVE),  # no two layers told apart
        (DROPS, UNTRAINED_WIDER, UNTRAINED, FAILS),  # training adds nothing
        (DROPS, UNTRAINED_NOISY, UNTRAINED, INCONCLUSIVE),
        ({**DROPS, "relu3": [-0.03, -0.02, -0.04]}, UNTRAINED, UNTRAINED, FAILS),  # no cost
        ({**DROPS, "relu3": [0.01, -0.01, 0.005]}, UNTRAINED, UNTRAINED, INCONCLUSIVE),
    ],
)
def test_c49(drops, untrained, untrained_hidden, expected) -> None:
    result = rules.c49_ablation_and_cka_separate_layers(
        drops, TRAINED, untrained, TRAINED, untrained_hidden
    )
    assert result == expected


def test_c49_too_few_seeds() -> None:
    short = ([0.9, 0.9], [0.6, 0.6])
    result = rules.c49_ablation_and_cka_separate_layers(DROPS, short, short, TRAINED, UNTRAINED)
    assert result == INCONCLUSIVE


@pytest.mark.parametrize(
    ("specialised", "split_spare", "expected"),
    [
        ([True] * 3, [True] * 3, HOLDS),
        ([True] * 3, [False] * 3, CAVEAT),
        ([True] * 3, [True, False, True], INCONCLUSIVE),
        ([False] * 3, [True] * 3, FAILS),
        ([True, False, True], [True] * 3, INCONCLUSIVE),
    ],
)
def test_c16_heads(specialised, split_spare, expected) -> None:
    assert rules.c16_heads_split_two_relations(specialised, split_spare) == expected


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


def test_c55():
    f = rules.c55_one_architecture_for_every_problem
    cnn_wins, mlp_wins = (
        ((0.95, 0.96, 0.94), (0.60, 0.62, 0.58)),
        ((0.60, 0.62, 0.58), (0.95, 0.96, 0.94)),
    )
    assert f(*cnn_wins, *mlp_wins) == FAILS  # the ranking flips
    assert f(*cnn_wins, *cnn_wins) == HOLDS  # one network ahead on both problems
    assert f(*mlp_wins, *mlp_wins) == HOLDS
    tie = ((0.80, 0.82, 0.78), (0.81, 0.79, 0.80))
    assert f(*cnn_wins, *tie) == INCONCLUSIVE
    assert f(*tie, *mlp_wins) == INCONCLUSIVE
    assert f(*(x[:2] for x in cnn_wins + mlp_wins)) == INCONCLUSIVE


def test_c56():
    f = rules.c56_attention_focuses_rnn_decoder
    attention, plain, focus = (0.99, 0.98, 0.99), (0.40, 0.45, 0.42), (0.95, 0.97, 0.96)
    assert f(attention, plain, focus) == HOLDS
    assert f(plain, attention, focus) == FAILS  # better without attention
    assert f(attention, plain, (0.10, 0.08, 0.12)) == FAILS  # accurate, but not focused
    assert f(attention, plain, (0.95, 0.30, 0.96)) == INCONCLUSIVE  # one seed unfocused
    assert f((0.46, 0.44, 0.50), plain, focus) == INCONCLUSIVE  # within the spread
    assert f(attention[:2], plain[:2], focus[:2]) == INCONCLUSIVE
