"""Rules for the claims of initialization and optimization, C42-C47 (chapter 5; see
:mod:`scratch.rules`).

Per-seed measurements come in as plain sequences, one value per seed (at least
:data:`scratch.evidence.MIN_SEEDS`); a property counts as shown only when every seed
shows it (:func:`scratch.evidence.every_seed`), and as refuted only when no seed does.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evidence import (
    INCONCLUSIVE,
    above,
    both,
    decide,
    enough_seeds,
    every_flag,
    every_seed,
    negate,
    replicates,
    with_caveat,
)
from . import rule

#: C43: a layer-20 / layer-1 activation-std ratio in [STEADY_LO, STEADY_HI] is "steady".
STEADY_LO, STEADY_HI = 0.5, 2.0


@rule("C42")
def c42_zero_init_poor(
    zero_spread: Sequence[float],
    const_spread: Sequence[float],
    zero_loss_drop: Sequence[float],
    xavier_acc: Sequence[float],
    zero_acc: Sequence[float],
) -> str:
    """Zero init is poor: on every seed the units of each hidden layer of the all-zero and
    the all-0.1 networks are still exactly identical after training (largest difference
    0), the zero network's loss falls by less than 1 % of its start, and the Xavier
    network's test accuracy is above the zero network's by more than the seed spread and
    by more than 50 points."""
    symmetric = both(
        every_seed(zero_spread, lambda v: v == 0), every_seed(const_spread, lambda v: v == 0)
    )
    stuck = every_seed(zero_loss_drop, lambda v: v < 0.01)
    better = above(replicates(xavier_acc), replicates(zero_acc), min_effect=0.5)
    return decide(both(symmetric, stuck, better))


@rule("C43")
def c43_xavier_he_steady(
    he_relu: Sequence[float],
    xavier_gain_tanh: Sequence[float],
    xavier_tanh: Sequence[float],
    xavier_relu_factor: Sequence[float],
) -> str:
    """Xavier keeps tanh steady, He keeps ReLU steady: on every seed the layer-20 / layer-1
    activation-std ratio of He + ReLU and of Xavier with tanh's gain lies in [0.5, 2], and
    Xavier + ReLU multiplies the variance by 0.5 +- 0.1 per layer, as derived. A caveat
    when plain Xavier (gain 1) + tanh is not steady on every seed; inconclusive when the
    seeds disagree about any part."""
    steady = lambda r: STEADY_LO <= r <= STEADY_HI  # noqa: E731
    condition = both(
        every_seed(he_relu, steady),
        every_seed(xavier_gain_tanh, steady),
        every_seed(xavier_relu_factor, lambda f: abs(f - 0.5) < 0.1),
    )
    return with_caveat(condition, negate(every_seed(xavier_tanh, steady)))


@rule("C45")
def c45_lr_oscillates_or_crawls(
    high_increases: Sequence[float],
    high_diverged: Sequence[bool],
    low_reduction: Sequence[float],
    good_reduction: Sequence[float],
    steps: int,
) -> str:
    """Too high a rate oscillates, too low a rate crawls: on every seed the rate above
    2/lambda_max raises the loss on at least 20 % of its steps and diverges (non-finite, or
    a peak above 100x the starting loss), the smallest rate removes less than 5 % of the
    loss in the same number of steps, and a rate in between removes more than 90 % of it
    (so the slow one is slow, not the problem unsolvable)."""
    return decide(
        both(
            every_seed(high_increases, lambda n: n >= 0.2 * steps),
            every_flag(high_diverged),
            every_seed(low_reduction, lambda r: r < 0.05),
            every_seed(good_reduction, lambda r: r > 0.9),
        )
    )


@rule("C46")
def c46_clipping_prevents_explosion(
    free_exploded: Sequence[bool], clip_trained: Sequence[bool], clip_raw_median: Sequence[float]
) -> str:
    """Clipping prevents exploding gradients: on every seed the unclipped run explodes (its
    loss turns non-finite or rises above 100x its first value, the divergence criterion of
    C45), while the clipped run never rises above 100x its first loss and ends (mean of its
    last 10 losses) below its first loss. A caveat when the clipped run's raw gradient norm
    still has a median above the clipping threshold 1 on every seed (clipping caps the
    step, not the gradient); inconclusive when the seeds disagree about any part."""
    condition = both(every_flag(free_exploded), every_flag(clip_trained))
    return with_caveat(condition, every_seed(clip_raw_median, lambda m: m > 1.0))


@rule("C51")
def c51_gradient_normalization_stabilizes(
    free_exploded: Sequence[bool], normalized_trained: Sequence[bool]
) -> str:
    """Gradient normalization (rescaling every step's gradient to norm 1) stabilizes
    training, judged exactly as clipping is in C46: on every seed where the plain run
    explodes, the normalized run never rises above 100x its first loss and ends (mean of
    its last 10 losses) below its first loss. Inconclusive when the plain runs do not all
    explode (nothing to stabilize) or the seeds disagree."""
    if every_flag(free_exploded) is not True:
        return decide(None)
    return decide(every_flag(normalized_trained))


@rule("C53")
def c53_weight_decay_reduces_overfitting(
    gap_plain: Sequence[float],
    gap_decay: Sequence[float],
    test_plain: Sequence[float],
    test_decay: Sequence[float],
) -> str:
    """Weight decay reduces overfitting: on every seed the train-test accuracy gap of the
    network trained with decay is smaller than without, and the mean gap without decay
    exceeds the one with decay by more than their spreads together
    (:func:`scratch.evidence.above`). A caveat when the test accuracy with decay is not
    above the one without by more than the spreads (a smaller gap, not a better model).
    Fails when the gap with decay is the larger one beyond the spreads; inconclusive
    otherwise or with fewer than 3 seeds."""
    if not enough_seeds(gap_plain, gap_decay, test_plain, test_decay):
        return INCONCLUSIVE
    per_seed = every_seed([p - d for p, d in zip(gap_plain, gap_decay)], lambda g: g > 0)
    condition = both(per_seed, above(replicates(gap_plain), replicates(gap_decay)))
    better_model = above(replicates(test_decay), replicates(test_plain)) is True
    return with_caveat(condition, not better_model)


@rule("C47")
def c47_mlp_activation_init(
    sigmoid_default: Sequence[float],
    tanh_default: Sequence[float],
    relu_default: Sequence[float],
    tanh_xavier: Sequence[float],
    relu_he_signal: Sequence[float],
) -> str:
    """Early-layer gradients of deep plain MLPs vanish (chapter 5's measurement, at
    initialization, over activations and initializations): on every seed the first/last
    hidden weight-gradient norm ratio of a 20-layer MLP with the default init is below
    1e-3 with sigmoid and below 1e-2 with tanh and with ReLU. A caveat when a matched init
    cures it on every seed: the ratio within [0.1, 10] for Xavier + tanh and the
    backpropagated-signal ratio |dL/dz_1| / |dL/dz_20| within [0.5, 2] for He + ReLU;
    inconclusive when the seeds disagree about any part."""
    vanishes = both(
        every_seed(sigmoid_default, lambda r: r < 1e-3),
        every_seed(tanh_default, lambda r: r < 1e-2),
        every_seed(relu_default, lambda r: r < 1e-2),
    )
    cured = both(
        every_seed(tanh_xavier, lambda r: 0.1 <= r <= 10),
        every_seed(relu_he_signal, lambda r: 0.5 <= r <= 2),
    )
    return with_caveat(vanishes, cured)
