"""Rules for the claims about looking inside layers and choosing them: C05, C16 (chapter
6's head ablation), C44 and C49 (see :mod:`scratch.rules`).

Per-seed measurements come in as plain sequences, one value per seed (at least
:data:`scratch.evidence.MIN_SEEDS`); a property counts as shown only when every seed
shows it (:func:`scratch.evidence.every_seed`), and as refuted only when no seed does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..evidence import (
    INCONCLUSIVE,
    MIN_SEEDS,
    Seeds,
    above,
    as_replicates,
    both,
    compare,
    decide,
    enough_seeds,
    every_flag,
    every_seed,
    negate,
    replicates,
    seed_values,
    with_caveat,
)
from . import rule

#: C44: "about 200,000" read at the claim's own precision, one significant figure:
#: every count that rounds to 200,000, i.e. [150,000, 250,000).
ABOUT_200K = (150_000, 250_000)


@rule("C05")
def c05_edges_then_larger(
    change_edge_frac: Sequence[float],
    trained_edge_frac: Sequence[float],
    erf_areas: Sequence[Sequence[float]],
) -> str:
    """Edges first, larger patterns later: on every seed at least half of what training
    added to the first-layer kernels is edge/bar-like (orientation score above the 95th
    percentile of random kernels), and the effective receptive field (pixels holding 50 %
    of the gradient mass) grows by more than 1.5x from each conv block to the next. A
    caveat when the trained kernels themselves are not edge/bar-like in majority on every
    seed; inconclusive when the seeds disagree about any part."""
    grows = [all(b > 1.5 * a for a, b in zip(areas, areas[1:])) for areas in erf_areas]
    condition = both(every_seed(change_edge_frac, lambda f: f >= 0.5), every_flag(grows))
    return with_caveat(condition, negate(every_seed(trained_edge_frac, lambda f: f >= 0.5)))


@rule("C49")
def c49_ablation_and_cka_separate_layers(
    drops: Mapping[str, Seeds],
    trained: tuple[Seeds, Seeds],
    untrained: tuple[Seeds, Seeds],
    trained_hidden: tuple[Seeds, Seeds],
    untrained_hidden: tuple[Seeds, Seeds],
) -> str:
    """Ablation and CKA show what each layer contributes. Ablation: mean-ablating the same
    fraction of every layer's channels (``drops``: layer -> per-seed accuracy drop) costs
    accuracy beyond the seed spread in every layer. CKA: between two independently trained
    networks (one value per seed pair; ``trained = (same, cross)``: mean CKA of a layer
    with the same layer of the other net, and with the other layers), the same-layer CKA
    is above the cross-layer CKA beyond the spread, and that margin (same minus cross) is
    above the margin of two untrained networks (``untrained``) beyond the spread, so that
    training, not the architecture alone, makes the layers correspond. Both are judged
    over the layers with the logits (``trained``, ``untrained``); a caveat unless the
    hidden layers alone (``trained_hidden``, ``untrained_hidden``) show the CKA result too
    and the ablation tells at least two layers apart beyond the spread. Inconclusive when
    the seeds cannot separate any part (or cannot rank any two layers' drops)."""
    if not enough_seeds(*drops.values(), *trained, *untrained, *trained_hidden, *untrained_hidden):
        return INCONCLUSIVE

    def cka_shows(t: tuple[Seeds, Seeds], u: tuple[Seeds, Seeds]) -> bool | None:
        margin_t = [s - c for s, c in zip(seed_values(t[0]), seed_values(t[1]), strict=True)]
        margin_u = [s - c for s, c in zip(seed_values(u[0]), seed_values(u[1]), strict=True)]
        return both(
            above(as_replicates(t[0]), as_replicates(t[1])),
            above(replicates(margin_t), replicates(margin_u)),
        )

    zero = replicates([0.0] * MIN_SEEDS)
    reps = [as_replicates(d) for d in drops.values()]
    measurable = both(*(above(r, zero) for r in reps))
    # two layers told apart beyond the spread; if no pair is, the seeds cannot rank them
    ranked = True if any(compare(a, b) for i, a in enumerate(reps) for b in reps[i + 1 :]) else None
    condition = both(measurable, cka_shows(trained, untrained))
    return with_caveat(condition, negate(both(cka_shows(trained_hidden, untrained_hidden), ranked)))


@rule("C16")
def c16_heads_split_two_relations(specialised: Sequence[bool], split_spare: Sequence[bool]) -> str:
    """Different heads learn different relations (chapter 6's head test): on every seed the
    2-head model on first-plus-previous is above 90 % correct, one head puts more than half
    its attention on the first token and another more than half on the previous one, and
    their attention rows differ by a Jensen-Shannon divergence above 0.3 nats
    (``specialised``). A caveat when, with spare heads (the 4-head model), the split does
    not survive on every seed (``split_spare``: above 90 % correct, and each relation has
    at least one head of its own that puts more than half its attention on it); spare
    heads that duplicate a relation or do little are allowed, as in chapter 2's rule.
    Inconclusive when the seeds disagree."""
    return with_caveat(every_flag(specialised), negate(every_flag(split_spare)))


@rule("C44")
def c44_small_cnn_counts(
    shapes_ok: bool,
    counts_agree: bool,
    per_layer_ok: bool,
    n_params: int,
    dense_twin_params: int,
    narrow_mlp_params: int,
) -> str:
    """Document 003's classifier (deterministic, no seeds): the shapes by formula, by
    running it and in the source agree, the three parameter counts agree, the count lies in
    [150,000, 250,000) (the values that round to "about 200,000" at its one significant
    figure), and a dense net that keeps the convolutions' feature-map sizes needs millions.
    A caveat when a plain dense net on the pixels (784-128-10) has fewer parameters than
    the CNN: "a dense net would need millions" is then true only of the dense twin."""
    lo, hi = ABOUT_200K
    condition = (
        shapes_ok
        and counts_agree
        and per_layer_ok
        and lo <= n_params < hi
        and dense_twin_params > 1_000_000
    )
    return decide(condition, caveat=narrow_mlp_params < n_params)


@rule("C55")
def c55_one_architecture_for_every_problem(
    cnn_local: Seeds, mlp_local: Seeds, cnn_global: Seeds, mlp_global: Seeds
) -> str:
    """The misconception that one architecture serves every problem, tested with the same
    two networks, data size and training on two problems: per-seed test accuracies of a
    convolutional and a dense network on a problem whose signal is a local pattern at a
    random position (``*_local``) and on one whose signal is a relation between fixed,
    distant positions (``*_global``). The claim fails when the ranking flips: the CNN
    ahead on the first by the margin rule (:func:`scratch.evidence.compare`) and the
    dense network ahead on the second. It holds when one network is ahead on both;
    inconclusive when either comparison cannot be separated from seed noise, or with fewer
    than 3 seeds."""
    if not enough_seeds(cnn_local, mlp_local, cnn_global, mlp_global):
        return INCONCLUSIVE
    local = compare(as_replicates(cnn_local), as_replicates(mlp_local))
    global_ = compare(as_replicates(cnn_global), as_replicates(mlp_global))
    if local == 0 or global_ == 0:
        return INCONCLUSIVE
    return decide(local == global_)


@rule("C56")
def c56_attention_focuses_rnn_decoder(
    acc_attention: Seeds, acc_plain: Seeds, aligned_share: Seeds
) -> str:
    """Attention in a recurrent encoder-decoder lets the decoder focus on the input
    positions it needs: per-seed held-out token accuracies of the same GRU
    encoder-decoder with and without dot-product attention over the encoder states, and
    ``aligned_share``, the share of output steps whose largest attention weight falls on
    the input position the output copies. Holds when on every seed the attention model
    is the more accurate, by more than the two spreads together
    (:func:`scratch.evidence.above`), and on every seed more than half of the output steps
    attend most to their aligned position (chance: one over the input length). Fails
    when the model without attention is the more accurate beyond the spreads, or the
    attention lands on the aligned position for at most half of the steps on every seed;
    inconclusive otherwise or with fewer than 3 seeds."""
    if not enough_seeds(acc_attention, acc_plain, aligned_share):
        return INCONCLUSIVE
    attention, plain = as_replicates(acc_attention), as_replicates(acc_plain)
    per_seed = every_seed(
        [a - p for a, p in zip(seed_values(acc_attention), seed_values(acc_plain))],
        lambda gap: gap > 0,
    )
    focused = every_seed(seed_values(aligned_share), lambda share: share > 0.5)
    return decide(both(per_seed, above(attention, plain), focused))
