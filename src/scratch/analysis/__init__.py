"""Tools that look at a network rather than make one; each takes any ``nn.Module``.

=====================  ==============================================================
``gradients``          :func:`grad_norms_by_layer` (each weight's gradient norm, after
                       ``backward``), :func:`output_grad_norms` (the gradient arriving at
                       each layer's output)
``summary``            :func:`shape_table`: every layer's output shape and parameters
``landscape``          covariate shift (:func:`input_moments`, :func:`drift`), the loss
                       landscape along the gradient (:func:`landscape`) and
                       :class:`DriftingNoise`
``cka``                linear centred kernel alignment between two representations
=====================  ==============================================================
"""

from __future__ import annotations

from .cka import centred_gram, cka, cka_from_grams
from .gradients import grad_norms_by_layer, output_grad_norms
from .landscape import DriftingNoise, drift, input_moments, landscape
from .summary import shape_table

__all__ = [
    "DriftingNoise",
    "centred_gram",
    "cka",
    "cka_from_grams",
    "drift",
    "grad_norms_by_layer",
    "input_moments",
    "landscape",
    "output_grad_norms",
    "shape_table",
]
