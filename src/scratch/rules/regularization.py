"""Rules for the claims of regularization (see :mod:`scratch.rules`).

Chapter 3 and the experiment ``dropout_vs_batchnorm`` both decide C23, C25 and C27 with
the functions here. Per-seed measurements may be passed as :class:`Replicates` or as a
plain sequence of per-seed values; with fewer than :data:`MIN_SEEDS` seeds a rule that
rests on training returns :data:`INCONCLUSIVE` instead of deciding (two runs cannot show
a spread, so no difference can be told from seed noise).
"""

from __future__ import annotations

import math

from ..evidence import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    Replicates,
    Seeds,
    above,
    as_replicates,
    both,
    compare,
    decide,
    enough_seeds,
    every_seed,
    seed_values,
)
from . import rule


def _reps(*groups: Seeds) -> list[Replicates]:
    return [as_replicates(g) for g in groups]


# --- dropout ----------------------------------------------------------------------------


@rule("C20")
def c20_dropout_count_is_random(
    unit_rate: Seeds, frac_50: Seeds, tv: Seeds, p50_theory: float
) -> str:
    """Each unit is dropped with probability 0.5 (measured rate within 0.005 of 0.5) and the
    number dropped out of 100 follows Binomial(100, 0.5): P(exactly 50) within 1 point of
    the binomial's and a total-variation distance below 0.05. Decided by
    :func:`every_seed` over independent mask draws (all pass -> holds, none -> fails,
    disagreement -> inconclusive). It holds only *with a caveat*: "50 of 100 are dropped"
    is the mean of a random count, and the usual range 0.2-0.5 is a convention that no
    measurement of the layer can confirm."""
    if not enough_seeds(unit_rate, frac_50, tv):
        return INCONCLUSIVE
    rows = list(zip(seed_values(unit_rate), seed_values(frac_50), seed_values(tv)))
    ok = every_seed(
        range(len(rows)),
        lambda i: (
            abs(rows[int(i)][0] - 0.5) < 0.005
            and abs(rows[int(i)][1] - p50_theory) < 0.01
            and rows[int(i)][2] < 0.05
        ),
    )
    return decide(ok, caveat=True)


@rule("C21")
def c21_inverted_dropout_matches(
    eval_is_identity: bool, z_inverted: Seeds, z_classic: Seeds, same_mask_err: float
) -> str:
    """Eval-mode dropout returns its input unchanged, the same mask gives classic output =
    inverted output x (1-p) to 1e-6 (both deterministic: fails otherwise), and for each of
    several independent Monte Carlo draws the training-time mean matches the test-time
    output of both rules within 4 standard errors on every unit (:func:`every_seed`)."""
    if not eval_is_identity or same_mask_err >= 1e-6:
        return FAILS
    if not enough_seeds(z_inverted, z_classic):
        return INCONCLUSIVE
    worst = [max(a, b) for a, b in zip(seed_values(z_inverted), seed_values(z_classic))]
    return decide(every_seed(worst, lambda z: z < 4))


@rule("C22")
def c22_implicit_ensemble(linear_shrink: Seeds, relu_stall: Seeds, agree: Seeds) -> str:
    """Eval mode as the mean of the thinned networks, per trained seed: through a linear
    layer the gap between the K-member ensemble mean and eval mode must shrink like an
    average (gap at K = 256 below 1/8 of the gap at K = 1: ``linear_shrink`` < 1/8), and the
    eval-mode class must be the ensemble's on more than 90 % of images. Both on every seed
    -> holds; either false on every seed -> fails; seeds disagree -> inconclusive. A
    *caveat* unless every seed shows that the gap through a ReLU keeps shrinking like an
    average (``relu_stall`` = gap(256) / gap(64) below 0.6, where pure averaging predicts
    0.5): a gap that stalls means eval mode is only an approximation of the ensemble, with
    a systematic bias."""
    if not enough_seeds(linear_shrink, relu_stall, agree):
        return INCONCLUSIVE
    core = both(
        every_seed(seed_values(linear_shrink), lambda r: r < 1 / 8),
        every_seed(seed_values(agree), lambda a: a > 0.9),
    )
    exact_through_relu = every_seed(seed_values(relu_stall), lambda r: r < 0.6)
    return decide(core, caveat=exact_through_relu is not True)


@rule("C23")
def c23_dropout_reduces_overfitting(
    gap_none: Seeds,
    gap_dropout: Seeds,
    test_loss_none: Seeds,
    test_loss_dropout: Seeds,
    test_acc_none: Seeds,
    test_acc_dropout: Seeds,
) -> str:
    """Dropout reduces overfitting: with dropout the train-test accuracy gap is smaller and
    the held-out loss lower than without, each by more than the seed spread
    (:func:`above`). If either is larger by more than the spread, or if held-out accuracy
    falls by more than the spread (a narrower gap bought by fitting worse is not less
    overfitting), it fails. It holds outright when held-out accuracy also rises by more
    than the spread, *with a caveat* when the accuracies cannot be told apart. Anything
    the seeds cannot separate, or fewer than 3 seeds, is inconclusive."""
    if not enough_seeds(gap_none, gap_dropout, test_loss_none, test_loss_dropout,
                        test_acc_none, test_acc_dropout):  # fmt: skip
        return INCONCLUSIVE
    g0, g1, l0, l1, a0, a1 = _reps(
        gap_none, gap_dropout, test_loss_none, test_loss_dropout, test_acc_none, test_acc_dropout
    )
    accuracy = compare(a1, a0)
    less_overfitting = both(above(g0, g1), above(l0, l1), accuracy >= 0)
    return decide(less_overfitting, caveat=accuracy == 0)


# --- batch norm -------------------------------------------------------------------------


@rule("C24")
def c24_batchnorm_mechanism(
    parity_err: float, formula_err: float, moved_train: float, moved_eval: float
) -> str:
    """Deterministic: scratch and torch.nn batch norm agree to 1e-4 (outputs, gradients,
    running statistics), the outputs match the batch-statistics and running-statistics
    formulas to 1e-5, and an example's output moves with its batch-mates in training mode
    (by more than 0.1) but not at all in eval mode."""
    return decide(parity_err < 1e-4 and formula_err < 1e-5 and moved_eval == 0.0
                  and moved_train > 0.1)  # fmt: skip


def _log_lr(lr: float) -> float:
    # a seed at which no learning rate trains gets a ceiling far below any grid
    return math.log10(lr) if lr > 0 else -12.0


@rule("C25")
def c25_batchnorm_higher_lr_faster(
    ceiling_bn: Seeds, ceiling_plain: Seeds, steps_bn: Seeds, steps_plain: Seeds
) -> str:
    """Batch norm permits higher learning rates and faster training. Per seed, the ceiling
    is the largest learning rate of the sweep at which that seed trains (0 if none), and
    the speed is the number of steps to a target at a shared learning rate (a run that
    never gets there counts as the step budget + 1). Higher: log10 of the ceiling with BN
    above the ceiling without by more than the seed spread; faster: steps with BN below
    steps without by more than the spread (:func:`above`). Both -> holds; either reversed
    -> fails; otherwise (or with fewer than 3 seeds) inconclusive."""
    if not enough_seeds(ceiling_bn, ceiling_plain, steps_bn, steps_plain):
        return INCONCLUSIVE
    c_bn, c_plain = _reps([_log_lr(v) for v in seed_values(ceiling_bn)],
                          [_log_lr(v) for v in seed_values(ceiling_plain)])  # fmt: skip
    s_bn, s_plain = _reps(steps_bn, steps_plain)
    return decide(both(above(c_bn, c_plain), above(s_plain, s_bn)))


@rule("C26")
def c26_internal_covariate_shift(
    drift_plain: Seeds,
    drift_bn: Seeds,
    drift_noisy: Seeds,
    acc_plain: Seeds,
    acc_bn: Seeds,
    acc_noisy: Seeds,
) -> str:
    """Batch norm works by reducing internal covariate shift, tested as Santurkar et al.
    did: batch norm plus injected noise ("noisy") that makes a layer's input drift again.

    - BN must cut the drift (plain drift above BN drift by more than the spread); if BN's
      drift is higher it cannot work by reducing it (fails); if the seeds cannot tell,
      inconclusive.
    - BN must help (BN held-out accuracy above plain by more than the spread) and the noise
      must restore the drift (noisy drift not below plain drift by more than the spread);
      otherwise the test has nothing to explain or no shift to test, and is inconclusive.
    - Then: if the noisy net is better than plain by more than the spread and not worse
      than BN by more than the spread (it keeps BN's benefit under as much shift), the
      claim fails; if it is worse than BN by more than the spread and not better than
      plain by more than the spread (the shift takes the benefit away), the claim holds;
      in between, inconclusive.
    """
    if not enough_seeds(drift_plain, drift_bn, drift_noisy, acc_plain, acc_bn, acc_noisy):
        return INCONCLUSIVE
    d_plain, d_bn, d_noisy, a_plain, a_bn, a_noisy = _reps(
        drift_plain, drift_bn, drift_noisy, acc_plain, acc_bn, acc_noisy
    )
    reduces = above(d_plain, d_bn)
    if reduces is not True:
        return decide(reduces)  # False -> fails, None -> inconclusive
    if above(a_bn, a_plain) is not True or above(d_plain, d_noisy) is True:
        return INCONCLUSIVE
    better_than_plain = above(a_noisy, a_plain) is True
    worse_than_bn = above(a_bn, a_noisy) is True
    if better_than_plain and not worse_than_bn:
        return FAILS
    if worse_than_bn and not better_than_plain:
        return HOLDS
    return INCONCLUSIVE


@rule("C27")
def c27_batchnorm_regularizes_and_replaces_dropout(
    gap_plain: Seeds, gap_bn: Seeds, acc_bn: Seeds, acc_dropout: Seeds
) -> str:
    """Batch norm also regularizes and can replace dropout: the train-test accuracy gap with
    BN is below the gap without it by more than the seed spread (regularizes), and BN
    alone reaches a held-out accuracy above dropout alone by more than the spread
    (replaces). Both -> holds; either reversed by more than the spread -> fails;
    otherwise (or with fewer than 3 seeds) inconclusive."""
    if not enough_seeds(gap_plain, gap_bn, acc_bn, acc_dropout):
        return INCONCLUSIVE
    g_plain, g_bn, a_bn, a_do = _reps(gap_plain, gap_bn, acc_bn, acc_dropout)
    return decide(both(above(g_plain, g_bn), above(a_bn, a_do)))


def c27_parts(gap_plain: Seeds, gap_bn: Seeds, acc_bn: Seeds, acc_dropout: Seeds) -> dict:
    """The two halves of C27 as three-valued conditions (for the evidence text):
    ``{"regularizes": ..., "replaces": ...}``, ``None`` where the seeds cannot tell."""
    if not enough_seeds(gap_plain, gap_bn, acc_bn, acc_dropout):
        return {"regularizes": None, "replaces": None}
    g_plain, g_bn, a_bn, a_do = _reps(gap_plain, gap_bn, acc_bn, acc_dropout)
    return {"regularizes": above(g_plain, g_bn), "replaces": above(a_bn, a_do)}


@rule("C28")
def c28_batchnorm_placement(
    acc_before: Seeds, acc_after: Seeds, n_before: int, n_after: int
) -> str:
    """Both placements work and "before" is more common: every seed of both orders
    (Linear -> BN -> ReLU and Linear -> ReLU -> BN) ends above 70 % held-out accuracy
    (:func:`every_seed`), and in the surveyed reference architectures batch norms that
    feed an activation outnumber those that follow one more than 10 to 1. Always *with a
    caveat*: "more common" is a fact about usage, not about the layer."""
    if not enough_seeds(acc_before, acc_after):
        return INCONCLUSIVE
    train = both(every_seed(seed_values(acc_before), lambda a: a > 0.7),
                 every_seed(seed_values(acc_after), lambda a: a > 0.7))  # fmt: skip
    return decide(both(train, n_before > 10 * max(n_after, 1)), caveat=True)


@rule("C29")
def c29_normalization_axes(worst_own: float, closest_other: float, identity_err: float) -> str:
    """Deterministic: each layer's output has mean 0 and variance 1 over its own axis set
    and the unions it implies (worst deviation below 1e-3), misses every other axis set by
    more than 0.05, and GroupNorm with 1 group / C groups equals LayerNorm / InstanceNorm
    to 1e-5."""
    return decide(worst_own < 1e-3 and closest_other > 0.05 and identity_err < 1e-5)
