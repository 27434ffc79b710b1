"""Rules for the claims of regularization (see :mod:`scratch.rules`).

Chapter 3 and the experiment ``dropout_vs_batchnorm`` both decide C23, C25 and C27 with
the functions here. Per-seed measurements may be passed as :class:`Replicates` or as a
plain sequence of per-seed values; with fewer than :data:`MIN_SEEDS` seeds a rule that
rests on training returns :data:`INCONCLUSIVE` instead of deciding (two runs cannot show
a spread, so no difference can be told from seed noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..evidence import (
    CAVEAT,
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
    replicates,
    seed_values,
    with_caveat,
)
from . import rule


def _reps(*groups: Seeds) -> list[Replicates]:
    return [as_replicates(g) for g in groups]


# --- dropout ----------------------------------------------------------------------------


@rule("C52")
def c52_dropout_prevents_coadaptation(drop_plain: Seeds, drop_dropout: Seeds) -> str:
    """Dropout prevents co-adaptation, measured as reliance on the other units being
    there: ``drop_*`` is, per seed, the test-accuracy drop of a trained network when a
    random half of its hidden units is removed at test time (the rest scaled by 2, mean
    over random halves). The claim holds when on every seed the network trained with
    dropout loses less than the one trained without, and the plain network's mean drop
    exceeds the dropout network's by more than their spreads together
    (:func:`scratch.evidence.above`); fails when the dropout network loses at least as
    much beyond the spreads; inconclusive otherwise or with fewer than 3 seeds."""
    if not enough_seeds(drop_plain, drop_dropout):
        return INCONCLUSIVE
    plain, dropout = _reps(drop_plain, drop_dropout)
    per_seed = every_seed(
        [p - d for p, d in zip(seed_values(drop_plain), seed_values(drop_dropout))],
        lambda gap: gap > 0,
    )
    return decide(both(per_seed, above(plain, dropout)))


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
def c21_test_time_scaling(
    eval_is_identity: bool, z_inverted: Seeds, z_classic: Seeds, z_mistake: Seeds
) -> str:
    """Dropout is off at inference, and both correct pairings of training and test rules
    make the test-time output equal the expected training-time output, while the mistake
    of scaling twice does not. Measured on dropout feeding a linear layer, per independent
    Monte Carlo draw, as deviations in standard errors of the Monte Carlo mean:

    - (a) inverted dropout (x 1/(1-p) in training, identity at test): ``z_inverted``, the
      worst unit's deviation; (b) classic dropout (no scaling in training, x (1-p) at
      test): ``z_classic``, the worst unit's; (c) the mistake (inverted dropout in training
      and x (1-p) at test as well): ``z_mistake``, the *smallest* unit's deviation.
    - Eval mode that is not the identity fails (deterministic). (a) and (b) within 4
      standard errors on every draw and (c) beyond 4 on every draw -> holds; (a) or (b)
      beyond 4 on every draw -> fails; (c) within 4 on every draw means the measurement
      cannot tell the mistake from the correct rules -> inconclusive; draws that disagree
      (:func:`every_seed`) or fewer than 3 draws -> inconclusive.
    """
    if not eval_is_identity:
        return FAILS
    if not enough_seeds(z_inverted, z_classic, z_mistake):
        return INCONCLUSIVE
    agree = both(
        every_seed(seed_values(z_inverted), lambda z: z < 4),
        every_seed(seed_values(z_classic), lambda z: z < 4),
    )
    if agree is not True:
        return decide(agree)
    mistake_off = every_seed(seed_values(z_mistake), lambda z: z > 4)
    return HOLDS if mistake_off is True else INCONCLUSIVE


@rule("C22")
def c22_implicit_ensemble(
    relu_floor: Seeds, relu_floor_ratio: Seeds, linear_floor_ratio: Seeds, agree: Seeds
) -> str:
    """Eval mode (weight scaling) as the mean of the thinned networks, per trained seed.
    For K sampled thinned networks the squared gap between their averaged logits and the
    eval-mode logits is fitted as gap^2(K) = b^2 + c/K over a wide range of K (b^2 the
    systematic floor, c/K what averaging leaves). ``relu_floor`` is b^2 with dropout
    below a ReLU; the ``*_floor_ratio`` values are b^2 / (c / K_max), the floor against
    the averaging residue at the largest K, for the ReLU net and for the linear control
    (only the last dropout sampled, where weight scaling is exactly the ensemble mean).

    - The control must show no floor: its ratio below 1 on every seed; otherwise the
      measurement cannot be trusted (inconclusive).
    - Eval mode must pick the ensemble's class on more than 90 % of images on every seed
      (false on every seed -> fails; seeds disagree -> inconclusive).
    - Then the ReLU net's floor decides the caveat: b^2 above zero beyond the seed spread
      and the ratio above 1 on every seed -> *holds with a caveat* (the ensemble is only
      approximated by weight scaling through a ReLU); either refuted -> holds (exact);
      seeds disagree -> inconclusive. Fewer than 3 seeds -> inconclusive."""
    if not enough_seeds(relu_floor, relu_floor_ratio, linear_floor_ratio, agree):
        return INCONCLUSIVE
    control = every_seed(seed_values(linear_floor_ratio), lambda r: r < 1)
    if control is not True:
        return INCONCLUSIVE
    picks_class = every_seed(seed_values(agree), lambda a: a > 0.9)
    zero = replicates([0.0] * len(seed_values(relu_floor)))
    floor = both(
        above(as_replicates(relu_floor), zero),
        every_seed(seed_values(relu_floor_ratio), lambda r: r > 1),
    )
    return with_caveat(picks_class, floor)


def c23_by_lr(per_lr: Mapping[float, Mapping[str, Seeds]]) -> dict[float, bool | None]:
    """C23 at each learning rate. ``per_lr`` maps a learning rate to per-seed
    ``train_none``, ``test_none``, ``train_dropout``, ``test_dropout`` accuracies. ``True``:
    the train-test gap with dropout is below the gap without by more than the seed spread
    *and* held-out accuracy rises by more than the spread. ``False``: the gap is larger
    beyond the spread, held-out accuracy falls beyond the spread, or the gap shrinks while
    held-out accuracy stays within the spread and training accuracy falls beyond it (the gap
    shrank only because the net fits worse). ``None``: the seeds cannot tell."""
    out: dict[float, bool | None] = {}
    for lr, d in per_lr.items():
        if not enough_seeds(d["train_none"], d["test_none"], d["train_dropout"], d["test_dropout"]):
            out[lr] = None
            continue
        tr0, te0, tr1, te1 = (
            seed_values(d[k]) for k in ("train_none", "test_none", "train_dropout", "test_dropout")
        )
        gap0 = replicates(a - b for a, b in zip(tr0, te0))
        gap1 = replicates(a - b for a, b in zip(tr1, te1))
        smaller_gap = above(gap0, gap1)
        held_out = compare(replicates(te1), replicates(te0))
        train_falls = above(replicates(tr0), replicates(tr1)) is True
        if smaller_gap is False or held_out < 0:
            out[lr] = False
        elif smaller_gap is True and held_out > 0:
            out[lr] = True
        elif smaller_gap is True and train_falls:
            out[lr] = False
        else:
            out[lr] = None
    return out


def _over_lrs(by_lr: Mapping[float, bool | None]) -> str:
    """True at every learning rate -> holds; at some -> holds with a caveat; false at every
    one -> fails; otherwise (or no learning rate) inconclusive."""
    values = list(by_lr.values())
    if values and all(v is True for v in values):
        return HOLDS
    if any(v is True for v in values):
        return CAVEAT
    if values and all(v is False for v in values):
        return FAILS
    return INCONCLUSIVE


@rule("C23")
def c23_dropout_reduces_overfitting(per_lr: Mapping[float, Mapping[str, Seeds]]) -> str:
    """Dropout reduces overfitting, judged at every learning rate measured (per-seed
    accuracies, at least 3 seeds, see :func:`c23_by_lr`): at a learning rate it does when
    the train-test accuracy gap with dropout is smaller than without by more than the seed
    spread *and* held-out accuracy rises by more than the spread. It does not when the gap
    is larger, when held-out accuracy falls (both beyond the spread), or when the gap
    shrinks only because training accuracy fell while held-out accuracy did not rise.
    Reduces at every learning rate -> holds; at some but not all -> holds with a caveat
    (the evidence names them); at none, with every learning rate decided -> does not hold;
    otherwise inconclusive."""
    return _over_lrs(c23_by_lr(per_lr))


# --- batch norm -------------------------------------------------------------------------


@rule("C24")
def c24_batchnorm_mechanism(
    parity_err: float, formula_err: float, moved_train: float, moved_eval: float
) -> str:
    """Deterministic: scratch and torch.nn batch norm agree to 1e-4 (outputs, gradients,
    running statistics), the outputs match the batch-statistics and running-statistics
    formulas to 1e-5, and an example's output moves with its batch-mates in training mode
    (by more than 0.1) but not at all in eval mode."""
    return decide(
        parity_err < 1e-4 and formula_err < 1e-5 and moved_eval == 0.0 and moved_train > 0.1
    )


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
    c_bn, c_plain = _reps(
        [_log_lr(v) for v in seed_values(ceiling_bn)],
        [_log_lr(v) for v in seed_values(ceiling_plain)],
    )
    s_bn, s_plain = _reps(steps_bn, steps_plain)
    return decide(both(above(c_bn, c_plain), above(s_plain, s_bn)))


@rule("C26")
def c26_internal_covariate_shift(
    acc: Mapping[float, Mapping[str, Seeds]],
    drift: Mapping[float, Mapping[str, Seeds]],
    steps: Mapping[float, Mapping[str, Seeds]],
) -> str:
    """Batch norm works by reducing internal covariate shift, tested as Santurkar et al.
    did: batch norm plus noise that keeps moving each unit's distribution ("noisy").

    Each argument maps a learning rate to per-seed values (same seeds, same order) for
    ``"plain"`` (no BN), ``"bn"`` and ``"noisy"`` (BN + drifting noise): ``acc`` held-out
    accuracy, ``drift`` how far a layer's input distribution moves, ``steps`` steps to the
    loss target (a run that never gets there counts as the budget plus one). Every
    comparison is :func:`scratch.evidence.above` (means apart by more than the summed sd).
    At each learning rate (:func:`c26_by_lr`):

    - BN's benefit: BN accuracy above plain. A rate without it has nothing to explain and
      is left out; fewer than two rates with a benefit -> inconclusive.
    - BN cuts the drift: plain drift above BN drift. BN's drift above plain at any rate ->
      does not hold (it cannot work by cutting it); not separable -> inconclusive.
    - The noise really shifts: noisy drift above plain drift; otherwise inconclusive (no
      shift was injected to test).
    - "Most of the benefit" = more than half of the BN - plain gap: the noisy accuracy is
      compared with the per-seed midpoint (plain + BN) / 2. "A large slowdown" = the noisy
      net loses more than half of BN's speed-up: its steps to the target above the
      per-seed midpoint of plain and BN steps.
    - outcome ``kept``: noisy accuracy above the midpoint and no large slowdown;
      ``kept, slow``: above the midpoint with a large slowdown; ``lost``: below the
      midpoint and not above plain; ``partly``: below the midpoint but still above plain;
      ``undecided``: the midpoint cannot be separated.

    Verdict: ``kept`` at every rate -> does not hold (the benefit survives more shift than
    the plain net has); ``lost`` at every rate -> holds; only ``lost`` and ``partly`` with
    at least one ``partly`` -> holds with a caveat (the shift takes most, not all, of the
    benefit); anything else (a large slowdown, rates that disagree, undecided) ->
    inconclusive. With fewer than three seeds anywhere -> inconclusive.
    """
    from ..evidence import CAVEAT, FAILS, HOLDS, INCONCLUSIVE

    by_lr = c26_by_lr(acc, drift, steps)
    if by_lr is None:
        return INCONCLUSIVE
    informative = {lr: r for lr, r in by_lr.items() if r["benefit"] is True}
    if len(informative) < 2:
        return INCONCLUSIVE
    if any(r["cuts_drift"] is False for r in informative.values()):
        return FAILS
    if any(r["cuts_drift"] is None or r["shifted"] is not True for r in informative.values()):
        return INCONCLUSIVE
    outcomes = {r["outcome"] for r in informative.values()}
    if outcomes == {"kept"}:
        return FAILS
    if outcomes == {"lost"}:
        return HOLDS
    if outcomes == {"lost", "partly"} or outcomes == {"partly"}:
        return CAVEAT
    return INCONCLUSIVE


def c26_by_lr(
    acc: Mapping[float, Mapping[str, Seeds]],
    drift: Mapping[float, Mapping[str, Seeds]],
    steps: Mapping[float, Mapping[str, Seeds]],
) -> dict[float, dict] | None:
    """The conditions of :func:`c26_internal_covariate_shift` at each learning rate
    (``None`` with fewer than three seeds anywhere): ``benefit``, ``cuts_drift``,
    ``shifted``, ``keeps_most``, ``above_plain``, ``slow`` (three-valued), ``kept``
    (fraction of BN's accuracy gain the noisy net keeps, from the means), ``slowdown``
    (mean noisy steps / mean BN steps) and ``outcome``."""
    from ..evidence import above, as_replicates, enough_seeds, replicates, seed_values

    groups = [g for table in (acc, drift, steps) for g in table.values()]
    if not groups or not all(enough_seeds(g) for g in groups):
        return None
    out = {}
    for lr in acc:
        a = {k: as_replicates(acc[lr][k]) for k in ("plain", "bn", "noisy")}
        d = {k: as_replicates(drift[lr][k]) for k in ("plain", "bn", "noisy")}
        s = {k: as_replicates(steps[lr][k]) for k in ("plain", "bn", "noisy")}
        mid_acc = replicates(
            (p + b) / 2 for p, b in zip(seed_values(a["plain"]), seed_values(a["bn"]))
        )
        mid_steps = replicates(
            (p + b) / 2 for p, b in zip(seed_values(s["plain"]), seed_values(s["bn"]))
        )
        keeps_most = above(a["noisy"], mid_acc)
        above_plain = above(a["noisy"], a["plain"])
        slow = above(s["noisy"], mid_steps)
        if keeps_most is True:
            outcome = "kept, slow" if slow is True else "kept"
        elif keeps_most is False:
            outcome = "partly" if above_plain is True else "lost"
        else:
            outcome = "undecided"
        gain = a["bn"].mean - a["plain"].mean
        out[lr] = {
            "benefit": above(a["bn"], a["plain"]),
            "cuts_drift": above(d["plain"], d["bn"]),
            "shifted": above(d["noisy"], d["plain"]),
            "keeps_most": keeps_most,
            "above_plain": above_plain,
            "slow": slow,
            "kept": (a["noisy"].mean - a["plain"].mean) / gain if gain else float("nan"),
            "slowdown": s["noisy"].mean / s["bn"].mean,
            "outcome": outcome,
        }
    return out


def c27_parts(per_lr: Mapping[float, Mapping[str, Seeds]]) -> dict[float, dict]:
    """C27 at each learning rate, as three-valued conditions. ``per_lr`` maps a learning
    rate to per-seed ``train_plain``, ``test_plain``, ``train_bn``, ``test_bn`` and
    ``test_dropout`` accuracies. ``regularizes``: BN's train-test gap below the plain net's
    by more than the seed spread (``False`` if above it by more, ``None`` if the seeds
    cannot tell); ``replaces``: BN alone's held-out accuracy at least dropout alone's
    within the spread (``False`` only if below it by more than the spread);
    ``gain_without_less_gap``: BN's held-out accuracy above the plain net's *and* its gap
    above the plain net's, both beyond the spread (a gain that comes from fitting faster,
    not from less overfitting; for the evidence text only)."""
    out: dict[float, dict] = {}
    for lr, d in per_lr.items():
        keys = ("train_plain", "test_plain", "train_bn", "test_bn", "test_dropout")
        if not enough_seeds(*(d[k] for k in keys)):
            out[lr] = {"regularizes": None, "replaces": None, "gain_without_less_gap": None}
            continue
        tr0, te0, tr1, te1, te_do = (seed_values(d[k]) for k in keys)
        gap0 = replicates(a - b for a, b in zip(tr0, te0))
        gap1 = replicates(a - b for a, b in zip(tr1, te1))
        out[lr] = {
            "regularizes": above(gap0, gap1),
            "replaces": compare(replicates(te1), replicates(te_do)) >= 0,
            "gain_without_less_gap": both(
                above(replicates(te1), replicates(te0)), above(gap1, gap0)
            ),
        }
    return out


@rule("C27")
def c27_batchnorm_regularizes_and_replaces_dropout(
    per_lr: Mapping[float, Mapping[str, Seeds]],
) -> str:
    """Batch norm also regularizes and can replace dropout, judged at every learning rate
    measured (per-seed accuracies, at least 3 seeds, see :func:`c27_parts`). At a learning
    rate both halves must hold: BN's train-test gap below the plain net's by more than the
    seed spread (regularizes), and BN alone's held-out accuracy at least dropout alone's,
    within the spread (replaces). Both at every learning rate -> holds; at some but not all
    -> holds with a caveat (the evidence names them); either half refuted at every
    learning rate -> does not hold; otherwise inconclusive."""
    parts = c27_parts(per_lr)
    return _over_lrs({lr: both(p["regularizes"], p["replaces"]) for lr, p in parts.items()})


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
    train = both(
        every_seed(seed_values(acc_before), lambda a: a > 0.7),
        every_seed(seed_values(acc_after), lambda a: a > 0.7),
    )
    return decide(both(train, n_before > 10 * max(n_after, 1)), caveat=True)


@rule("C29")
def c29_normalization_axes(worst_own: float, closest_other: float, identity_err: float) -> str:
    """Deterministic: each layer's output has mean 0 and variance 1 over its own axis set
    and the unions it implies (worst deviation below 1e-3), misses every other axis set by
    more than 0.05, and GroupNorm with 1 group / C groups equals LayerNorm / InstanceNorm
    to 1e-5."""
    return decide(worst_own < 1e-3 and closest_other > 0.05 and identity_err < 1e-5)
