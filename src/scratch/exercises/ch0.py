"""Chapter 0's checks: a dense layer's forward pass and a network's parameter count."""

from __future__ import annotations

import torch

from scratch.exercises import call, exercise, expect_close, expect_equal


@exercise("linear_forward")
def _linear_forward(fn) -> str:
    g = torch.Generator().manual_seed(0)
    shapes = [((5, 3), 4, True), ((2, 7, 3), 2, True), ((6, 3), 1, False)]
    for x_shape, out_features, with_bias in shapes:
        in_features = x_shape[-1]
        x = torch.randn(x_shape, generator=g)
        weight = torch.randn(out_features, in_features, generator=g)
        bias = torch.randn(out_features, generator=g) if with_bias else None
        want = torch.nn.functional.linear(x, weight, bias)
        got = call(fn, x, weight, bias)
        expect_close(
            got,
            want,
            f"x of shape {x_shape}, weight {tuple(weight.shape)}, bias={bias is not None}",
        )
    return "Matches torch.nn.functional.linear on 3 inputs (2-D, 3-D, without bias)."


@exercise("mlp_parameter_count")
def _mlp_parameter_count(fn) -> str:
    cases = [[784, 256, 10], [3, 4, 2], [1, 1], [10, 64, 64, 64, 1]]
    for widths in cases:
        layers = [torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        want = sum(p.numel() for layer in layers for p in layer.parameters())
        expect_equal(call(fn, widths), want, f"widths {widths}")
    return "Equals the parameter count of the torch.nn.Linear stack for 4 width lists."
