"""Rules for the claims of sequences: recurrent layers and attention, C10-C17 (see
:mod:`scratch.rules`).

Chapter 2 and the experiment ``lstm_vs_transformer`` call the same functions. Per-seed
measurements come in as plain sequences of floats, one value per seed; a rule that gets
fewer than :data:`scratch.evidence.MIN_SEEDS` of them returns ``INCONCLUSIVE`` (one run
cannot tell a property from luck), whatever the values. Measurements taken at several
lags (sequence lengths) come as a mapping ``lag -> per-seed values``.

The adding problem's scores are judged against the mean squared error of the best
constant guess, ``baseline_mse`` (1/6 for two ``U(0, 1)`` values): a model *solves* a lag
when its test MSE is below :data:`SOLVED` of that on every seed, and *fails* it when its
MSE is not below :data:`FAILED` of it on every seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..evidence import (
    FAILS,
    INCONCLUSIVE,
    MIN_SEEDS,
    UNTESTABLE,
    above,
    both,
    decide,
    either,
    enough_seeds,
    every_flag,
    every_seed,
    replicates,
)
from . import rule

#: A gradient "vanishes" when the far/near ratio is below this, "explodes" above EXPLODE.
VANISH, EXPLODE = 1e-6, 1e3
#: Adding problem: solved below SOLVED x the constant guess's MSE, failed when not below FAILED x.
SOLVED, FAILED = 0.1, 0.5
#: Per-step gradient decay: the trained LSTM must be closer to 1 than the RNN by this much.
DECAY_GAP = 0.1
#: ... and "the gates are open at init" would need this much at initialization.
INIT_DECAY_GAP = 0.05
#: "About as well": accuracies (fractions) within this of each other, beyond the seeds' spread.
ABOUT_AS_WELL = 0.10
#: C14: one attention layer's far/near gradient ratio within [1/FLAT, FLAT] is "flat".
FLAT = 10.0


def exceeds(a: Sequence[float], b: Sequence[float], margin: float) -> bool | None:
    """Three-valued "``a`` exceeds ``b`` by more than ``margin``" over seeds: the gap of the
    means, give or take the spread ``sd(a) + sd(b)``, must lie wholly above ``margin``
    (``True``) or wholly below it (``False``); a band that straddles ``margin`` is
    ``None`` (the seeds cannot tell whether the gap reaches the size the claim names)."""
    ra, rb = replicates(a), replicates(b)
    gap, spread = ra.mean - rb.mean, ra.sd + rb.sd
    if gap - spread > margin:
        return True
    if gap + spread < margin:
        return False
    return None


def gru_vs_lstm(gru_acc: Sequence[float], lstm_acc: Sequence[float]) -> str:
    """How the GRU's accuracy compares with the LSTM's at one lag, in words. The gap of the
    means (GRU minus LSTM), give or take the seeds' spread ``sd(GRU) + sd(LSTM)``:
    ``"about as well"`` when that band lies wholly within :data:`ABOUT_AS_WELL` of zero,
    ``"better"`` / ``"worse"`` when it lies wholly above ``+ABOUT_AS_WELL`` / below
    ``-ABOUT_AS_WELL``, else (or with fewer than three seeds) ``"undecided"``."""
    if not enough_seeds(gru_acc, lstm_acc):
        return "undecided"
    g, m = replicates(gru_acc), replicates(lstm_acc)
    gap, spread = g.mean - m.mean, g.sd + m.sd
    if abs(gap) + spread <= ABOUT_AS_WELL:
        return "about as well"
    if gap - spread > ABOUT_AS_WELL:
        return "better"
    if gap + spread < -ABOUT_AS_WELL:
        return "worse"
    return "undecided"


@rule("C10")
def c10_rnn_gradients_vanish_or_explode(
    tanh_ratio: Sequence[float],
    stretched_ratio: Sequence[float] | None = None,
    rnn_mse: Sequence[float] | None = None,
    baseline_mse: float | None = None,
) -> str:
    """The recurrence makes gradients vanish or explode: at initialization a vanilla tanh
    RNN's gradient far back over the gradient one step back (``tanh_ratio``) is below
    1e-6 on every seed; where a stretching recurrence is measured (``stretched_ratio``,
    a ReLU RNN whose recurrent map enlarges vectors) its ratio is above 1e3 on every
    seed; where the RNN was trained on a task that needs the far input (``rnn_mse``), it
    fails it (test MSE not below half the constant guess's) on every seed. Seeds that
    disagree: inconclusive; fewer than three seeds: inconclusive."""
    if not enough_seeds(tanh_ratio, stretched_ratio, rnn_mse):
        return INCONCLUSIVE
    vanish = every_seed(tanh_ratio, lambda r: r < VANISH)
    explode = (
        None if stretched_ratio is None else every_seed(stretched_ratio, lambda r: r > EXPLODE)
    )
    fails = (
        None if rnn_mse is None else every_seed(rnn_mse, lambda m: not m < FAILED * baseline_mse)
    )
    parts = [vanish] + [
        p for p, given in ((explode, stretched_ratio), (fails, rnn_mse)) if given is not None
    ]
    return decide(both(*parts))


@rule("C11")
def c11_lstm_gates_keep_gradients(
    lstm_mse: Mapping[int, Sequence[float]],
    rnn_mse: Mapping[int, Sequence[float]],
    baseline_mse: float,
    lstm_decay: Sequence[float] | None = None,
    rnn_decay: Sequence[float] | None = None,
    lstm_init_decay: Sequence[float] | None = None,
    rnn_init_decay: Sequence[float] | None = None,
) -> str:
    """LSTM gates let gradients survive: at some lag of the adding problem the LSTM solves
    the task on every seed (test MSE below 0.1 of the constant guess's) while the plain
    RNN fails it on every seed (not below 0.5 of it); and, where the per-step gradient
    decay of the trained layers is measured, the LSTM's is closer to 1 than the RNN's by
    more than 0.1 even after taking off the seeds' spread (:func:`exceeds`: the gap
    minus the spread above 0.1; false when the gap plus the spread is below 0.1). A caveat
    when the decay at initialization was measured and the LSTM was not already ahead there
    by 0.05 (the gates had to learn to keep memory). Seeds that disagree, or a spread that
    hides the gap: inconclusive; fewer than three seeds: inconclusive."""
    if not enough_seeds(lstm_mse, rnn_mse, lstm_decay, rnn_decay, lstm_init_decay, rnn_init_decay):
        return INCONCLUSIVE
    per_lag = [
        both(
            every_seed(lstm_mse[lag], lambda m: m < SOLVED * baseline_mse),
            every_seed(rnn_mse[lag], lambda m: not m < FAILED * baseline_mse),
        )
        for lag in sorted(lstm_mse)
    ]
    ok = either(per_lag)
    if lstm_decay is not None and rnn_decay is not None:
        ok = both(ok, exceeds(lstm_decay, rnn_decay, DECAY_GAP))
    caveat = False
    if lstm_init_decay is not None and rnn_init_decay is not None:
        caveat = exceeds(lstm_init_decay, rnn_init_decay, INIT_DECAY_GAP) is not True
    return decide(ok, caveat=caveat)


@rule("C12a")
def c12a_gru_two_gates_fewer_parameters(
    gru_params: int, lstm_params: int, gru_gates: int | None = None
) -> str:
    """A GRU has two gates and fewer parameters than an LSTM of the same width: counted,
    so no seeds. Holds when ``gru_params < lstm_params`` and, where the gates were counted
    (``gru_gates``, the GRU's weight blocks less its candidate), there are two; does not
    hold otherwise."""
    gates_ok = gru_gates is None or gru_gates == 2
    return decide(gru_params < lstm_params and gates_ok)


@rule("C12b")
def c12b_gru_trains_faster(gru_cost: Sequence[float], lstm_cost: Sequence[float]) -> str:
    """A GRU trains faster than an LSTM: its per-seed training cost (steps to reach a loss
    level, or seconds per step) is below the LSTM's by more than the seeds' spread
    (:func:`scratch.evidence.above`). Holds when it is; does not hold when the LSTM's cost
    is below the GRU's by more than the spread; inconclusive when the spread hides the
    gap (timings on a shared machine often do) or with fewer than three seeds."""
    if not enough_seeds(gru_cost, lstm_cost):
        return INCONCLUSIVE
    return decide(above(replicates(lstm_cost), replicates(gru_cost)))


@rule("C12c")
def c12c_gru_about_as_well(
    gru_acc: Mapping[int, Sequence[float]], lstm_acc: Mapping[int, Sequence[float]]
) -> str:
    """A GRU does about as well as an LSTM (two-sided): at every lag the gap of their mean
    accuracies, give or take the seeds' spread, lies within 10 points of zero
    (:func:`gru_vs_lstm` says "about as well"). Does not hold when at some lag the GRU is
    better or worse than the LSTM by more than 10 points beyond the spread (either way
    the two did not do about as well at this budget); inconclusive otherwise, or with
    fewer than three seeds."""
    if not enough_seeds(gru_acc, lstm_acc):
        return INCONCLUSIVE
    words = [gru_vs_lstm(gru_acc[lag], lstm_acc[lag]) for lag in sorted(gru_acc)]
    if "better" in words or "worse" in words:
        return FAILS
    if "undecided" in words:
        return INCONCLUSIVE
    return decide(True)


@rule("C13")
def c13_scaling_avoids_saturation(
    saturated_unscaled: Sequence[float],
    saturated_scaled: Sequence[float],
    grad_unscaled: Sequence[float],
    grad_scaled: Sequence[float],
) -> str:
    """Dividing by sqrt(d_k) keeps the softmax out of saturation: for wide heads, on every
    seed (a fresh draw of queries and keys), unscaled scores saturate more than half of
    the softmax rows (largest weight above 0.99), scaled scores fewer than 1 %, and the
    gradient reaching the unscaled scores is below a tenth of the scaled one. Seeds that
    disagree: inconclusive; fewer than three: inconclusive."""
    if not enough_seeds(saturated_unscaled, saturated_scaled, grad_unscaled, grad_scaled):
        return INCONCLUSIVE
    hits = [
        off > 0.5 and on < 0.01 and g_off < 0.1 * g_on
        for off, on, g_off, g_on in zip(
            saturated_unscaled, saturated_scaled, grad_unscaled, grad_scaled, strict=True
        )
    ]
    return decide(every_flag(hits))


@rule("C14")
def c14_attention_one_step(
    attention_ratio: Sequence[float] | None = None,
    rnn_ratio: Sequence[float] | None = None,
    transformer_mse: Mapping[int, Sequence[float]] | None = None,
    baseline_mse: float | None = None,
) -> str:
    """Self-attention connects any two positions in one step. Each measurement given is
    tested on every seed: one attention layer's gradient to the farthest position over
    that to the nearest (``attention_ratio``) lies within a factor 10 of 1 (flat) while a
    tanh RNN's over the same distance (``rnn_ratio``) is below 1e-6; a transformer
    trained on the adding problem (``transformer_mse``) solves the longest lag (MSE below
    0.1 of the constant guess's), with a caveat if it does not solve every shorter lag.
    Seeds that disagree: inconclusive; fewer than three: inconclusive."""
    if attention_ratio is None and transformer_mse is None:
        raise ValueError("c14_attention_one_step: give attention_ratio or transformer_mse")
    if not enough_seeds(attention_ratio, rnn_ratio, transformer_mse):
        return INCONCLUSIVE
    parts, caveat = [], False
    if attention_ratio is not None:
        parts.append(every_seed(attention_ratio, lambda r: 1 / FLAT < r < FLAT))
    if rnn_ratio is not None:
        parts.append(every_seed(rnn_ratio, lambda r: r < VANISH))
    if transformer_mse is not None:
        solved = {
            lag: every_seed(m, lambda v: v < SOLVED * baseline_mse)
            for lag, m in transformer_mse.items()
        }
        parts.append(solved[max(solved)])
        caveat = not all(s is True for s in solved.values())
    return decide(both(*parts), caveat=caveat)


@rule("C15a")
def c15a_lstm_sequential_attention_quadratic(
    chain_grows: bool, chain_constant: bool, flops_ratio_grows: bool
) -> str:
    """An LSTM takes n dependent steps, attention does O(n^2) work in a constant number of
    dependent steps: counted exactly, so no seeds. Holds when the LSTM's longest chain of
    dependent matrix products grows one-for-one with the length (``chain_grows``), the
    attention layer's stays the same at every length (``chain_constant``) and the
    attention layer's FLOPs over the LSTM's rise with every longer length
    (``flops_ratio_grows``, the n^2 term); does not hold if any of the three fails."""
    return decide(chain_grows and chain_constant and flops_ratio_grows)


@rule("C15b")
def c15b_transformer_trains_faster_long(
    speed_ratio: float | None = None, on_parallel_hardware: bool = False
) -> str:
    """On long sequences a transformer trains faster than an LSTM: a wall-clock claim about
    parallel hardware. ``speed_ratio`` is the transformer's training tokens per second
    over the LSTM's at the longest length, timed on a GPU. Holds when it is above 1, does
    not hold when it is not; not testable when no GPU timing exists (a CPU cannot test a
    claim about parallel hardware, and fewer steps to solve a task are not a speed-up in
    wall-clock time)."""
    if not on_parallel_hardware or speed_ratio is None or math.isnan(speed_ratio):
        return UNTESTABLE
    return decide(speed_ratio > 1)


@rule("C16")
def c16_heads_learn_different_relations(
    roles: Sequence[Sequence[str]],
    solved: Sequence[bool],
    relations: Sequence[str] = ("previous token", "first token"),
) -> str:
    """Different heads learn different relations: on a task made of several relations, a
    trained model (one per seed) solves the task and, for every relation, at least one
    head attends mainly to that relation's position (``roles`` lists each head's role per
    seed). More heads than relations may duplicate a role; that is allowed. Holds when
    every seed shows it, fails when none does, inconclusive when seeds disagree or are
    fewer than three."""
    if len(roles) != len(solved):
        raise ValueError("c16_heads_learn_different_relations: one roles list per seed")
    if len(roles) < MIN_SEEDS:
        return INCONCLUSIVE
    hits = [ok and set(relations) <= set(r) for r, ok in zip(roles, solved, strict=True)]
    return decide(every_flag(hits))


@rule("C17")
def c17_transformer_stacks(causal_exact: Sequence[bool], bidirectional: Sequence[bool]) -> str:
    """Encoder, decoder and encoder-decoder stacks behave as their masks say, on every
    seed (a fresh initialization): under the causal mask no output before a changed
    position moves at all while later ones do (``causal_exact``), and without it every
    output moves, as do all decoder outputs when the encoder's source changes
    (``bidirectional``). At best a caveat: which published models (BERT, GPT) use which
    stack is history, which no computation here tests. Seeds that disagree or fewer than
    three: inconclusive."""
    if len(causal_exact) < MIN_SEEDS or len(bidirectional) < MIN_SEEDS:
        return INCONCLUSIVE
    hits = [c and b for c, b in zip(causal_exact, bidirectional, strict=True)]
    return decide(every_flag(hits), caveat=True)
