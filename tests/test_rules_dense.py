"""Every rule of chapters 0 and 1 (scratch.rules.dense) reaches each of its outcomes on
made-up inputs."""

from __future__ import annotations

from scratch.evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE, replicates
from scratch.rules import RULES
from scratch.rules import dense as r

GiB = 1024**3


def test_every_claim_of_the_chapters_has_its_rules():
    for claim in ("C01", "C02", "C03", "C06", "C07a", "C07b", "C08", "C40", "C41", "C48", "C50"):
        assert len(RULES[claim]) == 1 and RULES[claim][0].__module__ == r.__name__
    assert [fn.__name__ for fn in RULES["C04"]] == ["c04_conv_shift_equivariant"]
    assert [fn.__name__ for fn in RULES["C09"]] == ["c09_shuffling_hurts_only_the_cnn"]


def test_c01():
    assert r.c01_dense_parameter_count(32_768, 128, True) == HOLDS
    assert r.c01_dense_parameter_count(32_768, 0, True) == FAILS
    assert r.c01_dense_parameter_count(32_768, 128, False) == FAILS


def test_c02():
    assert r.c02_image_dense_needs_millions(196_608, 25_165_952, 896) == HOLDS
    assert r.c02_image_dense_needs_millions(196_608, 900_000, 896) == FAILS
    assert r.c02_image_dense_needs_millions(196_608, 25_165_952, 50_000) == FAILS


def test_c03():
    ok = dict(
        same_train_bytes=1.5e15,
        conv_train_bytes=1e9,
        conv_params=896,
        conv_flop_growth=1276.0,
        pixel_growth=1276.0,
        budget_bytes=80 * GiB,
    )
    assert r.c03_dense_out_of_reach_at_1000(**ok, squeeze_train_bytes=6e9) == CAVEAT
    assert r.c03_dense_out_of_reach_at_1000(**ok, squeeze_train_bytes=1e12) == HOLDS
    fits = ok | {"same_train_bytes": 1e9}
    assert r.c03_dense_out_of_reach_at_1000(**fits, squeeze_train_bytes=6e9) == FAILS
    steep = ok | {"conv_flop_growth": 2000.0}
    assert r.c03_dense_out_of_reach_at_1000(**steep, squeeze_train_bytes=6e9) == FAILS
    assert (
        r.c03_dense_out_of_reach_at_1000(**ok, squeeze_train_bytes=6e9, formulas_ok=False) == FAILS
    )


def test_c04_equivariance():
    f = r.c04_conv_shift_equivariant
    assert f([1e-16] * 3, 0.5, border_err=0.0, odd_stride_rel=(0.0, 0.01, 0.02)) == HOLDS
    assert f([1e-16] * 3, 0.5, border_err=0.66, odd_stride_rel=(0.18, 0.2, 0.15)) == CAVEAT
    assert f([1e-16] * 3, 0.5, border_err=0.0, odd_stride_rel=(0.18, 0.01, 0.02)) == CAVEAT
    assert f(0.0, 0.5) == CAVEAT  # borders and strides not measured: not shown to hold there
    assert f(1e-3, 0.5) == FAILS
    assert f(1e-16, 0.0) == FAILS  # the map does not move: the test says nothing
    assert f([1e-16, 1e-3, 1e-16], 0.5, border_err=0.66) == INCONCLUSIVE


def test_c04_locality():
    f = r.c09_shuffling_hurts_only_the_cnn
    cnn, cnn_shuf = (0.93, 0.935, 0.925), (0.61, 0.62, 0.60)
    mlp, mlp_shuf = (0.66, 0.665, 0.655), (0.662, 0.66, 0.664)
    assert f(cnn, cnn_shuf, mlp, mlp_shuf) == CAVEAT
    assert f(cnn, cnn, mlp, mlp_shuf) == FAILS  # the CNN does not care about the shuffle
    assert f(cnn, cnn_shuf, mlp, (0.40, 0.41, 0.42)) == FAILS  # the MLP is hurt too
    assert f(cnn, (0.93, 0.75, 0.57), mlp, mlp_shuf) == INCONCLUSIVE  # CNN drop in the noise
    assert f(cnn, cnn_shuf, mlp, (0.60, 0.66, 0.62)) == INCONCLUSIVE  # MLP change unclear
    assert f((0.93,), (0.6,), (0.66,), (0.66,)) == INCONCLUSIVE  # one seed
    assert f(replicates(cnn), replicates(cnn_shuf), mlp, mlp_shuf) == CAVEAT


def test_c06():
    assert r.c06_embedding_is_lookup(0.0, 46, 46, 1e-16, True) == HOLDS
    assert r.c06_embedding_is_lookup(1e-7, 46, 46, 1e-16, True) == FAILS
    assert r.c06_embedding_is_lookup(0.0, 1000, 46, 1e-16, True) == FAILS


def test_c07a():
    f = r.c07a_related_embeddings_close
    assert f((0.99, 0.98, 0.995), (0.47, 0.5, 0.52)) == HOLDS
    assert f((0.6, 0.55, 0.5), (0.47, 0.5, 0.52)) == FAILS
    assert f((0.95, 0.951, 0.952), (0.99, 0.991, 0.992)) == FAILS  # the control is closer
    assert f((0.99, 0.98, 0.995), (0.97, 0.99, 0.95)) == INCONCLUSIVE  # inside the spread
    assert f((0.99, 0.85, 0.995), (0.47, 0.5, 0.52)) == INCONCLUSIVE
    assert f((0.99,), (0.47,)) == INCONCLUSIVE


def test_c07b():
    f = r.c07b_analogy_arithmetic
    assert f((0.6, 0.8, 1.0)) == CAVEAT
    assert f((0.0, 0.2, 0.0)) == FAILS
    assert f((0.6, 0.2, 0.4)) == INCONCLUSIVE
    assert f((0.6, 0.8)) == INCONCLUSIVE


def test_c08():
    f = r.c08_width_approximates
    assert f((1e-4, 2e-4, 5e-5), (1e3, 500.0, 2e4), 1e-4) == CAVEAT
    assert f((1e-4, 2e-4, 5e-5), (1e3, 500.0, 2e4), 0.5) == FAILS  # construction stalls
    assert f((0.5, 0.3, 0.9), (1e3, 500.0, 2e4), 1e-4) == FAILS  # training never gets there
    assert f((1e-4, 2e-4, 5e-5), (2.0, 1.5, 3.0), 1e-4) == FAILS  # extrapolates as well
    assert f((1e-4, 0.5, 5e-5), (1e3, 500.0, 2e4), 1e-4) == INCONCLUSIVE
    assert f((1e-4, 2e-4), (1e3, 500.0), 1e-4) == INCONCLUSIVE


def test_c40():
    f = r.c40_linear_stack_collapses
    one, deep, relu = (0.50, 0.49, 0.51), (0.50, 0.50, 0.52), (1.0, 0.99, 1.0)
    assert f(1e-7, one, deep, relu) == HOLDS
    assert f(1e-2, one, deep, relu) == FAILS
    assert f(1e-7, one, (0.8, 0.8, 0.8), relu) == FAILS  # depth helped: no collapse
    assert f(1e-7, one, deep, (0.6, 0.99, 1.0)) == INCONCLUSIVE  # one ReLU run failed
    assert f(1e-7, one[:2], deep[:2], relu[:2]) == INCONCLUSIVE


def test_c41():
    f = r.c41_no_bias_pinned_to_origin
    with_b, without_b = (5e-5, 1e-4, 3e-5), (0.033, 0.03, 0.035)
    assert f(0.0, 1e-12, with_b, without_b) == HOLDS
    assert f(0.1, 1e-12, with_b, without_b) == FAILS  # not pinned
    assert f(0.0, 1e-12, with_b, (1e-4, 2e-4, 1e-4)) == FAILS  # no worse without biases
    assert f(0.0, 1e-12, with_b, (0.033, 2e-4, 0.035)) == INCONCLUSIVE
    assert f(0.0, 1e-12, with_b[:1], without_b[:1]) == INCONCLUSIVE


def test_c48():
    f = r.c48_depth_folds_width_fills
    pieces = [2, 4, 8, 16, 32, 64]
    good = [(0.08, 0.06, 0.02, 1e-3, 6e-5)] * 3
    assert f(pieces, good) == CAVEAT
    assert f([2, 4, 6, 8], good) == FAILS  # depth only adds
    flat = [(0.08, 0.08, 0.07, 0.07, 0.06)] * 3
    assert f(pieces, flat) == FAILS
    mixed = good[:2] + [(0.08, 0.09, 0.02, 1e-3, 6e-5)]  # one draw rises once
    assert f(pieces, mixed) == INCONCLUSIVE
    assert f(pieces, good[:2]) == INCONCLUSIVE


def test_c50():
    f = r.c50_output_layer_adjusts_first
    moved, still = (False, False, False), (True, True, True)
    together = [(1e-2, 2e-2, 5e-3, 3e-2)] * 3
    assert f(moved, together) == FAILS  # every layer moved, in the one step
    assert f(still, together) == HOLDS  # weights moved while gradients were computed
    output_only = [(0.0, 0.0, 0.0, 3e-2)] * 3
    assert f(moved, output_only) == HOLDS
    assert f(moved, together[:2] + output_only[:1]) == INCONCLUSIVE  # seeds disagree
    assert f(moved, [(0.0, 0.0, 0.0, 0.0)] * 3) == INCONCLUSIVE  # nothing moved at all
    assert f(moved[:2], together[:2]) == INCONCLUSIVE  # too few seeds
