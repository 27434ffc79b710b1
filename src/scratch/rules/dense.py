"""Rules for the claims of dense layers, convolutions and embeddings (chapters 0 and 1;
see :mod:`scratch.rules`).

Chapter 1 and the experiment ``dense_vs_conv`` both decide C01-C04 with the functions
here; the experiment ``mnist1d_table`` decides C09, the locality prior, with
:func:`c09_shuffling_hurts_only_the_cnn`. Per-seed measurements may be passed as
:class:`Replicates` or as a plain sequence of per-seed values; with fewer than
:data:`MIN_SEEDS` seeds a rule that rests on training returns :data:`INCONCLUSIVE`.
Counting claims (C01, C02, C03, C06) are deterministic: they hold or fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..evidence import (
    FAILS,
    INCONCLUSIVE,
    MIN_SEEDS,
    Seeds,
    above,
    both,
    compare,
    decide,
    enough_seeds,
    every_seed,
    replicates,
    seed_values,
)
from . import rule


def _every_pair(rows: Sequence[tuple], predicate) -> bool | None:
    """:func:`every_seed` over per-seed tuples of measurements."""
    return every_seed(range(len(rows)), lambda i: bool(predicate(*rows[int(i)])))


# --- chapter 1: counting --------------------------------------------------------------


@rule("C01")
def c01_dense_parameter_count(n_weights: int, n_biases: int, formula_ok: bool) -> str:
    """Linear(256, 128) stores exactly 256 x 128 = 32,768 weights and 128 biases, and the
    formula n*m + m matches the parameter count of every other shape tried. Deterministic
    (no seeds): holds or fails."""
    return decide(n_weights == 32_768 and n_biases == 128 and bool(formula_ok))


@rule("C02")
def c02_image_dense_needs_millions(pixels: int, dense_params: float, conv_params: float) -> str:
    """A 256x256 RGB image holds 3 x 256 x 256 = 196,608 numbers; a dense layer reading it
    (to 128 units) has at least a million parameters, and a 3x3 convolution to 32 channels
    fewer than 10,000. Deterministic: holds or fails."""
    return decide(pixels == 196_608 and dense_params >= 1e6 and conv_params < 1e4)


@rule("C03")
def c03_dense_out_of_reach_at_1000(
    same_train_bytes: float,
    squeeze_train_bytes: float,
    conv_train_bytes: float,
    conv_params: float,
    conv_flop_growth: float,
    pixel_growth: float,
    budget_bytes: float,
    formulas_ok: bool = True,
) -> str:
    """At 1000x1000: a dense layer that keeps the resolution (as many outputs as the
    convolution) needs more memory to train with Adam than the budget (one 80 GiB GPU),
    while the convolution fits, has fewer than 10,000 parameters and its FLOPs grow in
    proportion to the pixel count (growth ratio within 1 % of the pixel ratio), and the
    closed formulas match the measured counts. Holds *with a caveat* when a dense layer
    that squeezes the image to 128 units fits the budget: then "out of reach" is true of
    the wide dense layer only. Deterministic: no seeds."""
    core = (
        bool(formulas_ok)
        and same_train_bytes > budget_bytes
        and conv_train_bytes <= budget_bytes
        and conv_params < 1e4
        and abs(conv_flop_growth / pixel_growth - 1) < 0.01
    )
    return decide(core, caveat=squeeze_train_bytes <= budget_bytes)


# --- chapter 1: equivariance and its locality consequence -----------------------------


@rule("C04")
def c04_conv_shift_equivariant(
    exact_err: float | Seeds,
    map_moves: float,
    border_err: float | None = None,
    odd_stride_rel: Seeds | None = None,
) -> str:
    """conv(shift x) = shift(conv x): where the identity should be exact (away from the
    borders, with circular padding, even shifts under stride 2) the largest error is below
    1e-12 in float64 (on every filter draw when several are passed; draws that disagree
    -> inconclusive), and the test is not trivial (without shifting back the map changes
    by more than 1e-3). It holds without a caveat only if the border error with zero
    padding (``border_err``) is measured and below 1e-3 *and* a one-pixel shift under
    stride 2 (``odd_stride_rel``, relative error of the best output shift) is measured
    and below 0.05 on every draw; a break measured there, or not measured at all, makes
    it a caveat."""
    if map_moves <= 1e-3:
        return FAILS
    if isinstance(exact_err, (int, float)):
        exact = exact_err < 1e-12
    else:
        exact = every_seed(seed_values(exact_err), lambda e: e < 1e-12)
    whole = (
        border_err is not None
        and border_err <= 1e-3
        and odd_stride_rel is not None
        and every_seed(seed_values(odd_stride_rel), lambda r: r <= 0.05) is True
    )
    return decide(exact, caveat=not whole)


@rule("C09")
def c09_shuffling_hurts_only_the_cnn(
    cnn_normal: Seeds, cnn_shuffled: Seeds, mlp_normal: Seeds, mlp_shuffled: Seeds
) -> str:
    """The locality prior that comes with a convolution's weight sharing over neighbouring
    positions (C09; not the shift identity of C04): one fixed shuffle of
    MNIST-1D's positions costs the CNN more than 10 points of test accuracy, beyond the
    seed spread (:func:`compare` with ``min_effect`` 0.10; a drop that stays below 10
    points even with the spread added fails), while the MLP, which has no notion of
    neighbours, moves by less than 5 points including its spread (|mean change| + sd + sd
    < 0.05; a change beyond both the spread and 5 points fails). Anything in between is
    inconclusive. Fewer than 3 seeds -> inconclusive. One data set and one fixed
    permutation, so it holds at most *with a caveat*."""
    if not enough_seeds(cnn_normal, cnn_shuffled, mlp_normal, mlp_shuffled):
        return INCONCLUSIVE
    cn, cs, mn, ms = (
        replicates(seed_values(g)) for g in (cnn_normal, cnn_shuffled, mlp_normal, mlp_shuffled)
    )
    cnn_drop = cn.mean - cs.mean
    if compare(cn, cs, min_effect=0.10) == 1:
        cnn_hurt = True
    elif cnn_drop + cn.sd + cs.sd < 0.10:
        cnn_hurt = False
    else:
        cnn_hurt = None
    mlp_change = abs(mn.mean - ms.mean)
    if mlp_change + mn.sd + ms.sd < 0.05:
        mlp_same = True
    elif compare(mn, ms, min_effect=0.05) != 0:
        mlp_same = False
    else:
        mlp_same = None
    return decide(both(cnn_hurt, mlp_same), caveat=True)


# --- chapter 1: embeddings and approximation ------------------------------------------


@rule("C06")
def c06_embedding_is_lookup(
    lookup_err: float, touched_rows: int, distinct_ids: int, parity_err: float, flop_check: bool
) -> str:
    """An embedding is a dense layer on one-hot inputs computed by lookup: the lookup equals
    one-hot @ W exactly (difference 0), only the looked-up rows receive gradient, the layer
    matches torch.nn.Embedding to 1e-5, and the one-hot product's cost 2*N*V*D matches the
    FLOP counter. Deterministic: holds or fails."""
    return decide(
        lookup_err == 0 and touched_rows == distinct_ids and parity_err < 1e-5 and bool(flop_check)
    )


@rule("C07a")
def c07a_related_embeddings_close(trained_median_pct: Seeds, shuffled_median_pct: Seeds) -> str:
    """Related items end up close: the fixed related identifier pairs' median cosine
    similarity ranks above 90 % of random pairs on every seed of skip-gram training on the
    corpus, and that median percentile lies above the one of a control trained
    identically on the same corpus with its word order shuffled (same unigram counts, no
    contexts) by more than the spread of both (:func:`above`). Holds when both are shown;
    fails when the trained pairs are below 90 % on every seed or the control is at least
    as high beyond the spread; seeds that disagree or a gap inside the spread ->
    inconclusive; fewer than 3 seeds -> inconclusive."""
    if not enough_seeds(trained_median_pct, shuffled_median_pct):
        return INCONCLUSIVE
    trained, shuffled = (
        replicates(seed_values(trained_median_pct)),
        replicates(seed_values(shuffled_median_pct)),
    )
    close = every_seed(trained.values, lambda t: t > 0.9)
    return decide(both(close, above(trained, shuffled)))


@rule("C07b")
def c07b_analogy_arithmetic(hit_rates: Seeds) -> str:
    """Vector arithmetic solves analogies (king - man + woman lands near queen), tested on
    analogies of the same form fixed in advance for the trained vocabulary: on every seed
    the expected answer of a majority of them (``hit_rates``: the share with the answer
    among the 5 nearest words to a - b + c, excluding a, b and c) -> holds *with a caveat*
    (the king/queen instance itself needs pretrained natural-language vectors); on no
    seed a majority -> does not hold (at this corpus size); seeds disagree -> inconclusive;
    fewer than 3 seeds -> inconclusive."""
    if not enough_seeds(hit_rates):
        return INCONCLUSIVE
    return decide(every_seed(seed_values(hit_rates), lambda h: h > 0.5), caveat=True)


@rule("C08")
def c08_width_approximates(
    trained_fall: Seeds, outside_ratio: Seeds, constructed_fall: float
) -> str:
    """One hidden layer approximates the target on its interval as it widens, and only
    there: the hand-built ReLU interpolant's max error falls more than 1000x from the
    narrowest to the widest layer (deterministic; fails otherwise), and on every training
    seed the trained tanh net's MSE falls more than 100x from width 1 to the widest
    (``trained_fall`` = MSE(widest) / MSE(1) < 0.01) while the widest net errs outside
    the interval by more than 100x its MSE inside (``outside_ratio`` = MSE outside / MSE
    inside of the widest net > 100). Seeds disagree -> inconclusive; fewer than 3 ->
    inconclusive. Always *with a caveat*: the guarantee is
    for a bounded interval, and the parameter cost is the price."""
    if constructed_fall >= 1e-3:
        return FAILS
    if not enough_seeds(trained_fall, outside_ratio):
        return INCONCLUSIVE
    rows = list(zip(seed_values(trained_fall), seed_values(outside_ratio)))
    return decide(_every_pair(rows, lambda f, o: f < 0.01 and o > 100), caveat=True)


# --- chapter 0: what a layer is -------------------------------------------------------


@rule("C40")
def c40_linear_stack_collapses(
    collapse_err: float, acc_one: Seeds, acc_deep_linear: Seeds, acc_relu: Seeds
) -> str:
    """Stacked linear layers are one linear layer: the folded single layer reproduces the
    stack to 1e-5 (deterministic; fails otherwise), and on every seed of the two-rings
    problem the deep linear stack's training accuracy is within 5 points of one linear
    layer's while the same depth with ReLU exceeds 95 % (the task is learnable, so the
    linear stacks' failure is the collapse, not the optimizer). Seeds disagree ->
    inconclusive; fewer than 3 -> inconclusive."""
    if not collapse_err < 1e-5:
        return FAILS
    if not enough_seeds(acc_one, acc_deep_linear, acc_relu):
        return INCONCLUSIVE
    rows = list(zip(seed_values(acc_one), seed_values(acc_deep_linear), seed_values(acc_relu)))
    return decide(_every_pair(rows, lambda one, deep, relu: abs(deep - one) < 0.05 and relu > 0.95))


@rule("C41")
def c41_no_bias_pinned_to_origin(
    out_at_zero: float, homogeneity_err: float, mse_with_bias: Seeds, mse_without_bias: Seeds
) -> str:
    """A bias-free ReLU net is pinned to the origin: after training it outputs exactly 0 at
    x = 0 and is positively homogeneous, f(2x) = 2 f(x) to 1e-5 (largest value over the
    seeds; structural, so any miss fails), and on every seed its MSE on x^2 + 0.5 is more
    than 10x the MSE of the same net with biases. Seeds disagree -> inconclusive; fewer
    than 3 -> inconclusive."""
    if not (out_at_zero == 0.0 and homogeneity_err < 1e-5):
        return FAILS
    if not enough_seeds(mse_with_bias, mse_without_bias):
        return INCONCLUSIVE
    rows = list(zip(seed_values(mse_with_bias), seed_values(mse_without_bias)))
    return decide(_every_pair(rows, lambda with_b, without_b: without_b > 10 * with_b))


@rule("C48")
def c48_depth_folds_width_fills(
    pieces_by_depth: Sequence[int], width_errors: Sequence[Sequence[float]]
) -> str:
    """Depth buys hierarchy: hand-set tent networks of depth k = 1, 2, ... with 2 units per
    layer compute exactly 2^k linear pieces (deterministic). Width buys capacity at one
    level: on every draw of random ReLU kinks, the least-squares error of one hidden layer
    never rises as units are added (each width listed in increasing order) and the widest
    layer's error is below a tenth of the narrowest's. Draws disagree -> inconclusive;
    fewer than 3 draws -> inconclusive. Always *with a caveat*: this measures what the
    networks can represent, not what training finds."""
    doubling = all(p == 2**k for k, p in enumerate(pieces_by_depth, start=1))
    if not doubling:
        return FAILS
    if len(width_errors) < MIN_SEEDS:
        return INCONCLUSIVE
    rows = [tuple(float(e) for e in errs) for errs in width_errors]

    def widening_helps(*errs: float) -> bool:
        falls = all(b <= a for a, b in zip(errs, errs[1:]))
        return falls and errs[-1] < errs[0] / 10 and not any(map(math.isnan, errs))

    return decide(_every_pair(rows, widening_helps), caveat=True)


#: C50: a layer counts as changed by an update when ||W_after - W_before|| / ||W_before||
#: exceeds this (an SGD step at a learning rate of 0.1 moves a fresh layer by ~1e-2).
CHANGED = 1e-6


@rule("C50")
def c50_output_layer_adjusts_first(
    moved_during_backward: Sequence[bool], relative_change: Sequence[Sequence[float]]
) -> str:
    """ "The output layer adjusts first, then the layer before it." Per seed,
    ``moved_during_backward`` says whether any weight changed while the gradients were
    being computed, and ``relative_change`` lists each layer's relative change from one
    update (input layer first, output layer last). The claim fails when on every seed no
    weight moved during the backward pass and the one update changed every layer by more
    than :data:`CHANGED`: all layers adjust in the same step. It holds when on every seed
    the output layer changed while a weight moved during the backward pass or an earlier
    layer stayed put. Seeds that disagree, or fewer than 3 -> inconclusive."""
    if len(relative_change) < MIN_SEEDS or len(moved_during_backward) != len(relative_change):
        return INCONCLUSIVE
    together = [
        not moved and all(c > CHANGED for c in changes)
        for moved, changes in zip(moved_during_backward, relative_change)
    ]
    output_first = [
        changes[-1] > CHANGED and (moved or any(c <= CHANGED for c in changes[:-1]))
        for moved, changes in zip(moved_during_backward, relative_change)
    ]
    if all(together):
        return FAILS
    return decide(True) if all(output_first) else INCONCLUSIVE
