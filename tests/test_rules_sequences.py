"""Every outcome of the sequence rules (C10-C17) is reachable, on made-up measurements."""

from __future__ import annotations

import pytest

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE
from scratch.rules import sequences as rules

B = 1 / 6  # the constant guess's MSE on the adding problem


# ---------------------------------------------------------------- C10


def test_c10_outcomes() -> None:
    f = rules.c10_rnn_gradients_vanish_or_explode
    assert f([1e-12, 1e-9, 1e-14], stretched_ratio=[1e6, 1e5, 1e7]) == HOLDS
    assert f([1e-12, 1e-9, 1e-14], rnn_mse=[0.16, 0.15, 0.17], baseline_mse=B) == HOLDS
    assert f([1e-2, 1e-3, 1e-1], stretched_ratio=[1e6, 1e5, 1e7]) == FAILS
    assert f([1e-12, 1e-9, 1e-14], stretched_ratio=[1e-1, 1.0, 2.0]) == FAILS
    assert f([1e-12, 1e-9, 1e-14], rnn_mse=[0.01, 0.02, 0.01], baseline_mse=B) == FAILS
    # seeds that disagree, or a single seed: inconclusive
    assert f([1e-12, 1e-3, 1e-14], stretched_ratio=[1e6, 1e5, 1e7]) == INCONCLUSIVE
    assert f([1e-12, 1e-9, 1e-14], stretched_ratio=[1e6, 1.0, 1e7]) == INCONCLUSIVE
    assert f([0.0], rnn_mse=[0.16], baseline_mse=B) == INCONCLUSIVE


# ---------------------------------------------------------------- C11


def test_c11_outcomes() -> None:
    f = rules.c11_lstm_gates_keep_gradients
    solved, failed = [0.001, 0.002, 0.001], [0.16, 0.15, 0.17]
    assert f({20: solved}, {20: failed}, B) == HOLDS
    open_init = dict(lstm_init_decay=[0.9, 0.91, 0.92], rnn_init_decay=[0.6, 0.61, 0.62])
    shut_init = dict(lstm_init_decay=[0.64, 0.65, 0.63], rnn_init_decay=[0.66, 0.67, 0.65])
    decay = dict(lstm_decay=[0.98, 0.97, 0.98], rnn_decay=[0.75, 0.74, 0.76])
    assert f({20: solved}, {20: failed}, B, **decay, **open_init) == HOLDS
    assert f({20: solved}, {20: failed}, B, **decay, **shut_init) == CAVEAT
    # the LSTM fails too, or its gradient decays as fast as the RNN's
    assert f({20: failed}, {20: failed}, B) == FAILS
    slow = dict(lstm_decay=[0.70, 0.71, 0.72], rnn_decay=[0.75, 0.74, 0.76])
    assert f({20: solved}, {20: failed}, B, **slow) == FAILS
    # a decay gap whose band (gap ± spread) straddles 0.1 cannot say it reaches 0.1
    borderline = dict(lstm_decay=[0.98, 0.97, 0.99], rnn_decay=[0.80, 0.88, 0.96])
    assert f({20: solved}, {20: failed}, B, **borderline) == INCONCLUSIVE
    # one lag is enough; lags that all refute it fail it
    assert f({25: solved, 100: failed}, {25: failed, 100: failed}, B) == HOLDS
    assert f({25: failed, 100: failed}, {25: failed, 100: failed}, B) == FAILS
    # the LSTM solves on two seeds of three: inconclusive; one seed: inconclusive
    assert f({20: [0.001, 0.15, 0.002]}, {20: failed}, B) == INCONCLUSIVE
    assert f({25: [0.002]}, {25: [0.16]}, B) == INCONCLUSIVE


# ---------------------------------------------------------------- C12


def test_c12a_outcomes() -> None:
    f = rules.c12a_gru_two_gates_fewer_parameters
    assert f(2016, 2688, gru_gates=2) == HOLDS
    assert f(13121, 17473) == HOLDS  # gates not counted: the parameter half alone
    assert f(2688, 2016) == FAILS  # more parameters
    assert f(2016, 2688, gru_gates=3) == FAILS


def test_c12b_outcomes() -> None:
    f = rules.c12b_gru_trains_faster
    fast, slow = [150, 160, 140], [400, 450, 420]
    assert f(fast, slow) == HOLDS
    assert f(slow, fast) == FAILS
    # timings whose spread hides the gap; one seed decides nothing
    assert f([0.23, 0.10, 0.36], [0.28, 0.17, 0.39]) == INCONCLUSIVE
    assert f([0.16], [0.23]) == INCONCLUSIVE


def test_c12c_outcomes() -> None:
    f = rules.c12c_gru_about_as_well
    close = ({20: [0.95, 0.96, 0.94]}, {20: [0.93, 0.92, 0.94]})
    assert f(*close) == HOLDS
    assert rules.gru_vs_lstm(close[0][20], close[1][20]) == "about as well"
    # far better OR far worse: not "about as well" at this budget
    much_better = (
        {25: [0.93, 0.92, 0.94], 50: [0.71, 0.78, 0.70]},
        {25: [0.60, 0.50, 0.70], 50: [0.08, 0.08, 0.13]},
    )
    assert f(*much_better) == FAILS
    assert rules.gru_vs_lstm(much_better[0][50], much_better[1][50]) == "better"
    worse = ({20: [0.30, 0.25, 0.28]}, {20: [0.99, 0.98, 0.99]})
    assert f(*worse) == FAILS
    assert rules.gru_vs_lstm(worse[0][20], worse[1][20]) == "worse"
    # a gap near 10 points whose band straddles it; a spread wider than the tolerance
    straddle = ({20: [0.98, 0.97, 0.98]}, {20: [0.90, 0.94, 0.79]})
    assert f(*straddle) == INCONCLUSIVE
    noisy = ({20: [0.95, 0.50, 0.80]}, {20: [0.93, 0.60, 0.85]})
    assert f(*noisy) == INCONCLUSIVE
    assert f({25: [0.93]}, {25: [0.73]}) == INCONCLUSIVE


# ---------------------------------------------------------------- C13


def test_c13_outcomes() -> None:
    f = rules.c13_scaling_avoids_saturation
    assert f([0.74, 0.72, 0.75], [0.0, 0.0, 0.0], [1e-5, 2e-5, 1e-5], [0.2, 0.21, 0.22]) == HOLDS
    assert f([0.2, 0.1, 0.15], [0.0, 0.0, 0.0], [1e-5, 2e-5, 1e-5], [0.2, 0.21, 0.22]) == FAILS
    assert (
        f([0.74, 0.4, 0.75], [0.0, 0.0, 0.0], [1e-5, 2e-5, 1e-5], [0.2, 0.21, 0.22]) == INCONCLUSIVE
    )
    assert f([0.74], [0.0], [1e-5], [0.2]) == INCONCLUSIVE


# ---------------------------------------------------------------- C14


def test_c14_outcomes() -> None:
    f = rules.c14_attention_one_step
    assert f([0.9, 1.1, 0.95], rnn_ratio=[1e-12, 1e-10, 1e-14]) == HOLDS
    assert f([1e-3, 1e-4, 1e-3], rnn_ratio=[1e-12, 1e-10, 1e-14]) == FAILS
    assert f([0.9, 1e-4, 0.95], rnn_ratio=[1e-12, 1e-10, 1e-14]) == INCONCLUSIVE
    solved, unsolved = [0.001, 0.0, 0.002], [0.16, 0.15, 0.17]
    assert f(transformer_mse={25: solved, 100: solved}, baseline_mse=B) == HOLDS
    assert f(transformer_mse={25: unsolved, 100: solved}, baseline_mse=B) == CAVEAT
    assert f(transformer_mse={25: solved, 100: unsolved}, baseline_mse=B) == FAILS
    assert f(transformer_mse={25: [0.0], 100: [0.0]}, baseline_mse=B) == INCONCLUSIVE
    with pytest.raises(ValueError, match="attention_ratio or transformer_mse"):
        f()


# ---------------------------------------------------------------- C15


def test_c15a_outcomes() -> None:
    f = rules.c15a_lstm_sequential_attention_quadratic
    assert f(True, True, True) == HOLDS
    assert f(False, True, True) == FAILS  # the LSTM's chain does not grow with n
    assert f(True, False, True) == FAILS  # attention's chain grows too
    assert f(True, True, False) == FAILS  # no n^2 term in the arithmetic


def test_c15b_outcomes() -> None:
    f = rules.c15b_transformer_trains_faster_long
    assert f(3.0, on_parallel_hardware=True) == HOLDS
    assert f(0.5, on_parallel_hardware=True) == FAILS
    assert f(3.0, on_parallel_hardware=False) == UNTESTABLE  # a CPU run
    assert f(None) == UNTESTABLE  # no timing at all (the chapter)
    assert f(float("nan"), on_parallel_hardware=True) == UNTESTABLE


# ---------------------------------------------------------------- C16


def test_c16_outcomes() -> None:
    f = rules.c16_heads_learn_different_relations
    split = ["previous token", "previous token", "first token", "previous token"]
    one_role = ["previous token"] * 4
    # the chapter's setting, 4 heads and 2 relations: duplicated roles still hold
    assert len(split) == 4 and len(set(split)) == 2
    assert f([split] * 3, [True] * 3) == HOLDS
    two_two = ["first token", "previous token", "previous token", "first token"]
    assert f([split, two_two, two_two], [True] * 3) == HOLDS
    assert f([one_role] * 3, [True] * 3) == FAILS
    assert f([split] * 3, [False] * 3) == FAILS  # the task was not learned
    assert f([split, one_role, split], [True] * 3) == INCONCLUSIVE
    assert f([split], [True]) == INCONCLUSIVE


# ---------------------------------------------------------------- C17


def test_c17_outcomes() -> None:
    f = rules.c17_transformer_stacks
    assert f([True] * 3, [True] * 3) == CAVEAT  # the history half is never tested
    assert f([False] * 3, [True] * 3) == FAILS
    assert f([True, False, True], [True] * 3) == INCONCLUSIVE
    assert f([True], [True]) == INCONCLUSIVE
