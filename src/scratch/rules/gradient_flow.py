"""Rules for the claims of gradient flow, chapter 4 and the ``resnet_depth`` experiment
(C30-C37, C47; see :mod:`scratch.rules`).

Per-seed measurements come in as sequences of numbers (or
:class:`~scratch.evidence.Replicates`). A measurement repeated over fewer than
:data:`~scratch.evidence.MIN_SEEDS` seeds or initializations cannot show its own spread,
so every rule that takes one returns ``INCONCLUSIVE`` for it rather than deciding.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evidence import (
    FAILS,
    INCONCLUSIVE,
    UNTESTABLE,
    Seeds,
    above,
    as_replicates,
    both,
    decide,
    either,
    enough_seeds,
    every_seed,
    seed_values,
)
from . import rule

#: "Very small": a gradient two orders of magnitude below the top layer's (C47, C35).
VANISHED = 1e-2
#: A gradient profile counts as flat when first/last stays within this factor (C34b, C35).
FLAT = 10.0


# ---------------------------------------------------------------- pooling (deterministic)


@rule("C30")
def c30_pooling_halves_without_parameters(
    sides: dict[int, int], pooling_parameters: Sequence[int]
) -> str:
    """2x2 pooling halves each side: every even input side ``s`` in ``sides`` (input side ->
    output side of a 2x2, stride-2 max pool) comes out as ``s // 2``, and every pooling
    layer counted has 0 parameters. Deterministic: no seeds."""
    even = {s: out for s, out in sides.items() if s % 2 == 0}
    halves = bool(even) and all(out == s // 2 for s, out in even.items())
    return decide(halves and sum(pooling_parameters) == 0)


@rule("C31")
def c31_max_keeps_peak_avg_keeps_amount(
    max_by_count: Sequence[float],
    avg_by_count: Sequence[float],
    spike_ratio_max: float,
    spike_diff_avg: float,
) -> str:
    """Max keeps the peak, average the amount: in a 4x4 window with n of 16 cells at 1,
    max pooling gives 1 for every n and average pooling n/16 (to 1e-6); a lone spike and
    the same total spread evenly pool over 10x apart under max and to the same value (to
    1e-7) under average. Deterministic: hand-built inputs, no seeds."""
    n = len(max_by_count)
    max_flat = all(abs(v - 1.0) < 1e-6 for v in max_by_count)
    avg_counts = all(abs(v - (i + 1) / n) < 1e-6 for i, v in enumerate(avg_by_count))
    return decide(max_flat and avg_counts and spike_ratio_max > 10 and abs(spike_diff_avg) < 1e-7)


# ---------------------------------------------------------------- pooling vs stride (trained)


@rule("C32")
def c32_pooling_invariance_and_overfitting(
    same_after_shift_pool: Seeds,
    same_after_shift_none: Seeds,
    gap_pool: Seeds,
    gap_none: Seeds,
) -> str:
    """Pooling adds shift invariance and helps against overfitting, per seed of the same
    small CNN with and without max pooling: the share of test answers unchanged by a
    1-pixel shift must be higher with pooling by more than the seed spread (else fails,
    or inconclusive when the seeds cannot separate them). Holds when pooling's train-test
    gap is also smaller by more than the spread; a caveat when the gaps cannot be
    separated; fails when pooling's gap is larger by more than the spread."""
    if not enough_seeds(same_after_shift_pool, same_after_shift_none, gap_pool, gap_none):
        return INCONCLUSIVE
    invariance = above(as_replicates(same_after_shift_pool), as_replicates(same_after_shift_none))
    less_overfit = above(as_replicates(gap_none), as_replicates(gap_pool))
    if invariance is not True:
        return decide(invariance)
    if less_overfit is False:
        return FAILS
    return decide(True, caveat=less_overfit is None)


@rule("C33")
def c33_strided_conv_learns_to_downsample(
    acc_strided: Seeds,
    acc_maxpool: Seeds,
    imitation_error_avg: Seeds,
    strided_convs: int,
    pooling_layers: int,
    tolerance: float = 0.03,
) -> str:
    """A strided convolution can learn to downsample, and modern nets prefer it.
    Learning: per seed, a 2x2 stride-2 conv trained to imitate average pooling gets
    under 1 % relative error, and the strided CNN's test accuracy is within
    ``tolerance`` (3 points) of the max-pooling CNN's even after adding the seed spread
    (``mean gap + sd sum < tolerance``); it is more than ``tolerance`` worse when
    ``mean gap - sd sum > tolerance``; in between, inconclusive. Preference: the
    reference architecture (ResNet-18) downsamples with more stride-2 convs than pooling
    layers; a caveat while it keeps any pooling layer."""
    if not enough_seeds(acc_strided, acc_maxpool, imitation_error_avg):
        return INCONCLUSIVE
    s, m = as_replicates(acc_strided), as_replicates(acc_maxpool)
    gap, spread = m.mean - s.mean, s.sd + m.sd
    close = True if gap + spread < tolerance else False if gap - spread > tolerance else None
    imitates = every_seed(seed_values(imitation_error_avg), lambda e: e < 0.01)
    prefers = strided_convs > pooling_layers
    return decide(both(close, imitates, prefers), caveat=pooling_layers > 0)


# ---------------------------------------------------------------- residual connections (C34)


@rule("C34a")
def c34a_plain_nets_degrade(shallow_train_err: Seeds, deep_train_err: Seeds) -> str:
    """Plain nets degrade: the deepest plain net's *training* error is above the shallowest
    one's by more than the seed spread (fails if below by more than the spread,
    inconclusive in between or with fewer than 3 seeds). Training error, not test error,
    because the claim is that depth makes optimization worse, not generalization."""
    if not enough_seeds(shallow_train_err, deep_train_err):
        return INCONCLUSIVE
    return decide(above(as_replicates(deep_train_err), as_replicates(shallow_train_err)))


@rule("C34b")
def c34b_bypass_keeps_gradient(block_err: float, ratio_residual: Seeds, ratio_plain: Seeds) -> str:
    """The bypass: a block computes ReLU(F(x) + x) to 1e-5 (deterministic), and, at every
    one of at least 3 random initializations, the gradient arriving at the first layer of
    a deep net stays within 10x of the top layer's with shortcuts (ratio in [0.1, 10])
    while it falls below 1e-6 of it without. Fails if the block is wrong or no init shows
    the contrast; inconclusive if the inits disagree or there are fewer than 3."""
    if block_err >= 1e-5:
        return FAILS
    if not enough_seeds(ratio_residual, ratio_plain):
        return INCONCLUSIVE
    flat = every_seed(seed_values(ratio_residual), lambda r: 1 / FLAT <= r <= FLAT)
    vanishes = every_seed(seed_values(ratio_plain), lambda r: r < 1e-6)
    return decide(both(flat, vanishes))


#: Training has reached a plateau when its last 20 % lowered the training loss by less than
#: this fraction (C34c).
PLATEAU = 0.05


def last_fifth_drop(curve: Sequence[tuple[int, float]]) -> float:
    """How much the last 20 % of training lowered the training loss, as a fraction of the
    loss at 80 %: ``(L(0.8 T) - L(T)) / L(0.8 T)`` for a curve of ``(step, loss)`` points
    ending at step ``T``, reading the last point at or before ``0.8 T``. ``inf`` when the
    curve has no point there besides the last (the plateau cannot be seen)."""
    end_step, end = curve[-1]
    earlier = [loss for step, loss in curve[:-1] if step <= 0.8 * end_step]
    if not earlier:
        return float("inf")
    return (earlier[-1] - end) / earlier[-1]


@rule("C34c")
def c34c_deeper_residual_better(
    shallow_test_err: Seeds | None,
    deep_test_err: Seeds | None,
    budget_epochs: float,
    shallow_train_err: Seeds | None = None,
    deep_train_err: Seeds | None = None,
    last_fifth_drops: Sequence[float] | None = None,
) -> str:
    """Deeper residual nets do better: the deepest residual net's final *test* error is
    below the shallowest one's by more than the seed spread, with training run to a
    plateau. Not testable without runs, with less than one epoch of training, or unless
    every run of both nets is at a plateau (``last_fifth_drops``: the last 20 % of
    training lowered its training loss by less than 5 %, :func:`last_fifth_drop`; the
    deeper net may not have had time to fit). Then: fails when the deep net's test error
    is *above* by more than the spread; inconclusive with fewer than 3 seeds or when the
    spread cannot separate the two; holds when its *training* error is also below by more
    than the spread, with a caveat when the training errors cannot be separated or are
    not given."""
    if shallow_test_err is None or deep_test_err is None or budget_epochs < 1:
        return UNTESTABLE
    if not last_fifth_drops or not all(d < PLATEAU for d in last_fifth_drops):
        return UNTESTABLE
    if not enough_seeds(shallow_test_err, deep_test_err):
        return INCONCLUSIVE
    better_test = above(as_replicates(shallow_test_err), as_replicates(deep_test_err))
    if better_test is not True:
        return decide(better_test)
    better_train = None
    if shallow_train_err is not None and deep_train_err is not None:
        if enough_seeds(shallow_train_err, deep_train_err):
            better_train = above(as_replicates(shallow_train_err), as_replicates(deep_train_err))
    return decide(True, caveat=better_train is not True)


# ---------------------------------------------------------------- vanishing gradients


@rule("C47")
def c47_plain_early_gradients_vanish(
    arriving_default: Seeds, arriving_he: Seeds, weight_default: Seeds
) -> str:
    """Early gradients of deep plain nets are very small: per initialization (at least
    3), the gradient arriving at the first convolution of a deep plain net without
    normalization is below 1e-2 of the last one's (two orders of magnitude), under
    PyTorch's default init (``arriving_default``) or under He init (``arriving_he``).
    Holds only when it vanishes under both inits and the first layer's *weight*
    gradient (default init) is also below 1e-2 of the last one's; a caveat when it
    depends on the init or the weight gradients of all layers are alike. Fails when no
    init shows it; inconclusive when the inits disagree or there are fewer than 3."""
    if not enough_seeds(arriving_default, arriving_he, weight_default):
        return INCONCLUSIVE
    small = lambda r: r < VANISHED  # noqa: E731
    vanish_default = every_seed(seed_values(arriving_default), small)
    vanish_he = every_seed(seed_values(arriving_he), small)
    early_weights_small = every_seed(seed_values(weight_default), small)
    holds = either([vanish_default, vanish_he])
    everywhere = vanish_default is True and vanish_he is True and early_weights_small is True
    return decide(holds, caveat=not everywhere)


@rule("C35")
def c35_residual_and_norm_fix_vanishing(
    ratio_plain: Seeds, ratio_residual: Seeds, ratio_norm: Seeds
) -> str:
    """Residual connections and normalization each fix a deep CNN whose early gradients
    vanish, per initialization (at least 3), first/last arriving-gradient ratio at
    init: not testable unless the plain net's ratio is below 1e-2 at every init (nothing
    to fix); then the fix works when the ratio with shortcuts and the ratio with batch
    norm are both at least 0.1 at every init (fails if either is below at every init,
    inconclusive if the inits disagree). Holds when both also stay at most 10 (a flat
    profile); a caveat when one overshoots (the gradient explodes instead)."""
    if not enough_seeds(ratio_plain, ratio_residual, ratio_norm):
        return INCONCLUSIVE
    vanishes = every_seed(seed_values(ratio_plain), lambda r: r < VANISHED)
    if vanishes is False:
        return UNTESTABLE
    if vanishes is None:
        return INCONCLUSIVE
    fixed = both(
        *(every_seed(seed_values(m), lambda r: r >= 1 / FLAT) for m in (ratio_residual, ratio_norm))
    )
    flat = all(
        every_seed(seed_values(m), lambda r: r <= FLAT) is True
        for m in (ratio_residual, ratio_norm)
    )
    return decide(fixed, caveat=not flat)


# ---------------------------------------------------------------- dense blocks, bottlenecks


@rule("C36")
def c36_dense_reuse_and_savings(
    drop_without_early: Seeds,
    drop_by_early_group: dict[str, Seeds],
    params_dense: int,
    params_plain_same_output: int,
    params_plain_same_width: int,
) -> str:
    """Dense connections reuse features and save parameters. Reuse, per seed of a small
    trained DenseNet: replacing every feature map made before the last layer by its mean
    costs over 5 points of test accuracy at every seed, and at least one earlier group
    alone costs over 1 point at every seed. Saving (deterministic): a plain stack with
    the same output width has over 2x the dense block's parameters. A caveat when a
    plain stack as narrow as the growth rate has fewer parameters (the saving holds only
    at equal output width). Inconclusive when the seeds disagree or there are fewer
    than 3."""
    groups = list(drop_by_early_group.values())
    if not enough_seeds(drop_without_early, *groups):
        return INCONCLUSIVE
    reuse = every_seed(seed_values(drop_without_early), lambda d: d > 0.05)
    some_group = either(every_seed(seed_values(g), lambda d: d > 0.01) for g in groups)
    saves = params_plain_same_output > 2 * params_dense
    return decide(both(reuse, some_group, saves), caveat=params_plain_same_width < params_dense)


@rule("C37")
def c37_bottleneck_cuts_computation(
    flops_bottleneck: float,
    flops_basic: float,
    inner_width: int,
    outer_width: int,
    network_flops_ratio: float,
) -> str:
    """Bottlenecks cut computation: at equal input and output width a 1x1-3x3-1x1 block
    costs over 5x fewer FLOPs than two 3x3 convolutions. A caveat when the saving comes
    with a narrower inner width or a network built from bottlenecks (ResNet-50) still
    costs at least as much as its basic-block sibling (ResNet-34). Deterministic."""
    cuts = flops_basic / flops_bottleneck > 5
    return decide(cuts, caveat=inner_width < outer_width or network_flops_ratio >= 1)


@rule("C54")
def c54_residual_block_learns_identity(dev_residual: Seeds, dev_plain: Seeds) -> str:
    """A residual block learns to do nothing when that is optimal: ``dev_*`` is, per seed,
    the mean over the blocks of a stack trained to return its input of
    ``||block(h) - h|| / ||h||`` on held-out inputs (``h`` the block's own input). The claim
    holds when on every seed the residual blocks end closer to the identity than the
    plain blocks of the same shape and training, and the plain mean exceeds the residual
    mean by more than their spreads together (:func:`scratch.evidence.above`); fails when
    the residual blocks are the farther ones beyond the spreads; inconclusive otherwise or
    with fewer than 3 seeds."""
    if not enough_seeds(dev_residual, dev_plain):
        return INCONCLUSIVE
    residual, plain = as_replicates(dev_residual), as_replicates(dev_plain)
    per_seed = every_seed(
        [p - r for p, r in zip(seed_values(dev_plain), seed_values(dev_residual))],
        lambda gap: gap > 0,
    )
    return decide(both(per_seed, above(plain, residual)))
