"""Every outcome of the gradient-flow rules (C30-C37, C47) is reachable, on made-up
measurements."""

from __future__ import annotations

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, replicates
from scratch.rules import gradient_flow as rules


def test_c30_outcomes() -> None:
    f = rules.c30_pooling_halves_without_parameters
    assert f({28: 14, 14: 7, 27: 13}, [0, 0, 0]) == HOLDS
    assert f({28: 13, 14: 7}, [0, 0]) == FAILS
    assert f({28: 14}, [0, 4]) == FAILS


def test_c31_outcomes() -> None:
    f = rules.c31_max_keeps_peak_avg_keeps_amount
    ones, counts = [1.0] * 4, [0.25, 0.5, 0.75, 1.0]
    assert f(ones, counts, 16.0, 0.0) == HOLDS
    assert f(counts, counts, 16.0, 0.0) == FAILS
    assert f(ones, ones, 16.0, 0.0) == FAILS
    assert f(ones, counts, 1.0, 0.0) == FAILS
    assert f(ones, counts, 16.0, 0.1) == FAILS


def test_c32_outcomes() -> None:
    f = rules.c32_pooling_invariance_and_overfitting
    hi, lo = [0.56, 0.57, 0.55], [0.48, 0.49, 0.50]
    small_gap, big_gap = [0.01, 0.012, 0.011], [0.05, 0.051, 0.049]
    assert f(hi, lo, small_gap, big_gap) == HOLDS
    assert f(hi, lo, small_gap, [0.02, 0.0, 0.01]) == CAVEAT  # gaps not separated
    assert f(hi, lo, big_gap, small_gap) == FAILS  # pooling overfits more
    assert f(lo, hi, small_gap, big_gap) == FAILS  # less invariant with pooling
    assert f([0.56, 0.45, 0.60], lo, small_gap, big_gap) == INCONCLUSIVE
    assert f([0.56], [0.48], [0.01], [0.05]) == INCONCLUSIVE  # one seed


def test_c33_outcomes() -> None:
    f = rules.c33_strided_conv_learns_to_downsample
    mp, close, far = [0.93, 0.935, 0.94], [0.92, 0.925, 0.92], [0.80, 0.81, 0.79]
    ok = [0.001, 0.002, 0.001]
    assert f(close, mp, ok, 7, 0) == HOLDS
    assert f(close, mp, ok, 7, 2) == CAVEAT  # ResNet-18 still pools
    assert f(far, mp, ok, 7, 2) == FAILS
    assert f(close, mp, [0.2, 0.3, 0.2], 7, 2) == FAILS  # cannot learn average pooling
    assert f(close, mp, ok, 1, 2) == FAILS  # pooling preferred
    assert f([0.90, 0.93, 0.87], mp, ok, 7, 2) == INCONCLUSIVE  # gap within the spread
    assert f([0.92], [0.93], [0.001], 7, 2) == INCONCLUSIVE


def test_c34a_outcomes() -> None:
    f = rules.c34a_plain_nets_degrade
    assert f([0.20, 0.21, 0.22], [0.70, 0.72, 0.75]) == HOLDS
    assert f([0.70, 0.72, 0.75], [0.20, 0.21, 0.22]) == FAILS
    assert f([0.20, 0.30, 0.25], [0.24, 0.31, 0.20]) == INCONCLUSIVE
    assert f([0.228], [0.731]) == INCONCLUSIVE  # one seed, however large the gap
    assert f(replicates([0.2, 0.21, 0.22]), replicates([0.7, 0.72, 0.75])) == HOLDS


def test_c34b_outcomes() -> None:
    f = rules.c34b_bypass_keeps_gradient
    res, plain = [1.0, 0.8, 1.2], [1e-20, 1e-19, 1e-21]
    assert f(1e-12, res, plain) == HOLDS
    assert f(1e-3, res, plain) == FAILS
    assert f(1e-12, [1e-3, 1e-4, 1e-3], plain) == FAILS
    assert f(1e-12, res, [0.5, 0.4, 0.3]) == FAILS
    assert f(1e-12, [1.0, 50.0, 1.0], plain) == INCONCLUSIVE
    assert f(1e-12, [1.0], [1e-20]) == INCONCLUSIVE


def test_c34c_outcomes() -> None:
    f = rules.c34c_deeper_residual_better
    shallow, deep = [0.10, 0.11, 0.10], [0.07, 0.07, 0.075]
    flat, falling = [0.01] * 6, [0.01, 0.02, 0.2, 0.01, 0.01, 0.01]
    assert f(shallow, deep, 30, shallow, deep, flat) == HOLDS
    assert f(shallow, deep, 30, shallow, shallow, flat) == CAVEAT  # training errors alike
    assert f(shallow, deep, 30, None, None, flat) == CAVEAT  # training errors not given
    assert f(deep, shallow, 30, deep, shallow, flat) == FAILS
    assert f([0.10, 0.07, 0.09], [0.08, 0.10, 0.07], 30, shallow, deep, flat) == INCONCLUSIVE
    assert f([0.214], [0.295], 30, [0.2], [0.28], [0.01, 0.01]) == INCONCLUSIVE  # one seed
    assert f(shallow, deep, 30, shallow, deep, falling) == UNTESTABLE  # not at a plateau
    assert f(shallow, deep, 30) == UNTESTABLE  # plateau not measured
    assert f(shallow, deep, 30, shallow, deep, []) == UNTESTABLE  # no loss curve
    assert f(shallow, deep, 0.96, shallow, deep, flat) == UNTESTABLE  # under one epoch
    assert f(None, None, 30) == UNTESTABLE


def test_last_fifth_drop() -> None:
    curve = [(s, 1.0 / s) for s in range(10, 110, 10)]  # loss 1/step, ends at step 100
    assert abs(rules.last_fifth_drop(curve) - (1 / 80 - 1 / 100) / (1 / 80)) < 1e-12
    assert rules.last_fifth_drop([(150, 0.5), (300, 0.2)]) == (0.5 - 0.2) / 0.5
    assert rules.last_fifth_drop([(300, 0.2)]) == float("inf")  # nothing to compare


def test_c47_outcomes() -> None:
    f = rules.c47_plain_early_gradients_vanish
    tiny, small, fine = [1e-20, 1e-19, 1e-21], [1e-3, 2e-3, 5e-3], [0.5, 0.3, 0.6]
    assert f(tiny, small, small) == HOLDS
    assert f(tiny, fine, small) == CAVEAT  # only with the default init
    assert f(tiny, small, fine) == CAVEAT  # weight gradients alike across layers
    assert f(fine, fine, fine) == FAILS
    assert f([1e-20, 0.5, 1e-20], fine, fine) == INCONCLUSIVE
    assert f([1e-20], [0.06], [0.07]) == INCONCLUSIVE  # one init


def test_c35_outcomes() -> None:
    f = rules.c35_residual_and_norm_fix_vanishing
    tiny, flat, big = [1e-20, 1e-19, 1e-21], [1.0, 0.8, 2.0], [900.0, 500.0, 3e3]
    assert f(tiny, flat, flat) == HOLDS
    assert f(tiny, flat, big) == CAVEAT  # batch norm overshoots
    assert f(tiny, flat, [1e-3, 1e-4, 1e-3]) == FAILS
    assert f(tiny, flat, [1e-3, 0.5, 1.0]) == INCONCLUSIVE
    assert f([0.5, 0.4, 0.6], flat, flat) == UNTESTABLE  # nothing vanishes: nothing to fix
    assert f([1e-20, 0.5, 1e-20], flat, flat) == INCONCLUSIVE
    assert f([1e-20], [0.5], [1e3]) == INCONCLUSIVE


def test_c36_outcomes() -> None:
    f = rules.c36_dense_reuse_and_savings
    big, used, unused = [0.40, 0.45, 0.5], {"h3": [0.05, 0.06, 0.04]}, {"h3": [0.0, 0.001, 0.0]}
    assert f(big, used, 27920, 120224, 30000) == HOLDS
    assert f(big, used, 27920, 120224, 5720) == CAVEAT
    assert f([0.01, 0.0, 0.02], used, 27920, 120224, 5720) == FAILS
    assert f(big, unused, 27920, 120224, 5720) == FAILS
    assert f(big, used, 27920, 40000, 5720) == FAILS
    assert f([0.40, 0.01, 0.5], used, 27920, 120224, 5720) == INCONCLUSIVE
    assert f([0.4], {"h3": [0.05]}, 27920, 120224, 5720) == INCONCLUSIVE


def test_c37_outcomes() -> None:
    f = rules.c37_bottleneck_cuts_computation
    assert f(27.3, 462.4, 256, 256, 0.9) == HOLDS
    assert f(27.3, 462.4, 64, 256, 1.14) == CAVEAT
    assert f(27.3, 462.4, 256, 256, 1.14) == CAVEAT
    assert f(200.0, 462.4, 64, 256, 1.14) == FAILS


def test_c54():
    f = rules.c54_residual_block_learns_identity
    residual, plain = (0.02, 0.03, 0.02), (0.40, 0.35, 0.45)
    assert f(residual, plain) == HOLDS
    assert f(plain, residual) == FAILS  # the residual blocks are the farther ones
    assert f((0.02, 0.50, 0.02), plain) == INCONCLUSIVE  # one seed disagrees
    assert f((0.30, 0.32, 0.28), (0.33, 0.35, 0.31)) == INCONCLUSIVE  # within the spread
    assert f(residual[:2], plain[:2]) == INCONCLUSIVE
