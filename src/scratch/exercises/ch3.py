"""Chapter 3's checks: a layer-norm forward pass and one training step of batch norm."""

from __future__ import annotations

import torch

from scratch.exercises import Wrong, call, exercise, expect_close


@exercise("layer_norm_forward")
def _layer_norm_forward(fn) -> str:
    g = torch.Generator().manual_seed(3)
    cases = [
        ((6, 10), (10,), True),
        ((2, 3, 5), (3, 5), True),
        ((1, 7), (7,), False),
        ((4, 2, 8), (8,), True),
    ]
    for x_shape, normalized_shape, affine in cases:
        x = torch.randn(x_shape, generator=g) * 3 + 2  # far from standardised
        weight = torch.randn(normalized_shape, generator=g) if affine else None
        bias = torch.randn(normalized_shape, generator=g) if affine else None
        want = torch.nn.functional.layer_norm(x, normalized_shape, weight, bias, eps=1e-5)
        got = call(fn, x.clone(), normalized_shape, weight, bias, 1e-5)
        expect_close(
            got, want, f"x of shape {x_shape}, normalized_shape={normalized_shape}, affine={affine}"
        )
    return (
        "Matches torch.nn.functional.layer_norm on 4 inputs (1 and "
        "2 normalised axes, batch 1, no affine)."
    )


@exercise("batchnorm_train_step")
def _batchnorm_train_step(fn) -> str:
    g = torch.Generator().manual_seed(3)
    cases = [((16, 4), 0.1), ((2, 3), 0.1), ((5, 3, 6), 0.3)]  # (N, C) or (N, C, L); momentum
    for x_shape, momentum in cases:
        channels = x_shape[1]
        layer = torch.nn.BatchNorm1d(channels, eps=1e-5, momentum=momentum).train()
        with torch.no_grad():
            layer.weight.copy_(torch.randn(channels, generator=g))
            layer.bias.copy_(torch.randn(channels, generator=g))
            layer.running_mean.copy_(torch.randn(channels, generator=g))
            layer.running_var.copy_(torch.rand(channels, generator=g) + 0.5)
        args = [
            t.detach().clone()
            for t in (layer.weight, layer.bias, layer.running_mean, layer.running_var)
        ]
        x = torch.randn(x_shape, generator=g) * 2 + 1
        with torch.no_grad():
            want = layer(x)  # train mode: batch statistics, and updates the running ones
        got = call(fn, x.clone(), *args, momentum, 1e-5)
        what = f"x of shape {x_shape}, momentum={momentum}"
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Wrong(f"{what}: expected a tuple (y, new_running_mean, new_running_var)")
        expect_close(got[0], want, f"{what}: the output y")
        expect_close(got[1], layer.running_mean, f"{what}: the new running mean")
        expect_close(got[2], layer.running_var, f"{what}: the new running variance")
    return (
        "Matches torch.nn.BatchNorm1d in train mode (output, running mean, running variance) "
        "on 3 inputs ((16, 4), a batch of 2, and (5, 3, 6) with momentum 0.3)."
    )
