"""Rules for the claims about looking inside layers and choosing them: C05, C16 (chapter
6's head ablation), C44 and C49 (see :mod:`scratch.rules`).

Per-seed measurements come in as plain sequences, one value per seed (at least
:data:`scratch.evidence.MIN_SEEDS`); a property counts as shown only when every seed
shows it (:func:`scratch.evidence.every_seed`), and as refuted only when no seed does.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evidence import (
    both,
    decide,
    every_flag,
    every_seed,
    negate,
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
    ablation_ratio: Sequence[float],
    cka_same: Sequence[float],
    cka_near: Sequence[float],
    cka_far: Sequence[float],
    whole_left: Sequence[float],
) -> str:
    """Ablation and CKA show what each layer contributes: on every seed mean-ablating one
    conv1 channel costs more than twice as much accuracy as one conv3 channel, and on every
    pair of seeds cross-seed CKA orders layers by distance (same layer > neighbours >
    further apart, same minus far above 0.05). A caveat unless, on every seed (pair), CKA
    also tells neighbours apart (same minus near above 0.05) and a whole-layer ablation
    leaves more than 25 % accuracy (ablation then shows more than the chain's wiring);
    inconclusive when the seeds disagree about any part."""
    orders = [s > n > f and s - f > 0.05 for s, n, f in zip(cka_same, cka_near, cka_far)]
    condition = both(every_seed(ablation_ratio, lambda r: r > 2), every_flag(orders))
    sharp = [s - n > 0.05 for s, n in zip(cka_same, cka_near)]
    informative = both(every_flag(sharp), every_seed(whole_left, lambda a: a > 0.25))
    return with_caveat(condition, negate(informative))


@rule("C16")
def c16_heads_split_two_relations(specialised: Sequence[bool], prunable: Sequence[bool]) -> str:
    """Different heads learn different relations (chapter 6's head test): on every seed the
    2-head model on first-plus-previous is above 90 % correct, one head puts more than half
    its attention on the first token and another more than half on the previous one, and
    their attention rows differ by a Jensen-Shannon divergence above 0.3 nats
    (``specialised``). A caveat when on at least one seed the 4-head model has a head whose
    ablation costs less than 2 points (``prunable``): the caveat says that not every head
    is guaranteed a relation of its own, and one counterexample shows that."""
    return with_caveat(every_flag(specialised), any(prunable))


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
