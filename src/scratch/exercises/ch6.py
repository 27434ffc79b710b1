"""Chapter 6's checks: the receptive field of a stack of convolutions, and a saliency map."""

from __future__ import annotations

import torch
from torch import nn

from scratch.exercises import call, exercise, expect_close, expect_equal


def _measured_receptive_field(layers: list[tuple[int, int]], length: int = 256) -> int:
    """Input positions that reach one output unit of a stack of 1-D convolutions, read off
    autograd: the support of the gradient of that unit with respect to the input. All
    weights are 1, so no two paths can cancel and every reachable position is non-zero."""
    stack = nn.Sequential(*[nn.Conv1d(1, 1, k, stride=s, bias=False) for k, s in layers])
    for conv in stack:
        nn.init.ones_(conv.weight)
    x = torch.ones(1, 1, length, requires_grad=True)
    out = stack(x)  # (1, 1, L_out); no padding, so every unit's field lies inside x
    out[0, 0, out.shape[-1] // 2].backward()
    return int((x.grad != 0).sum())


@exercise("inside_receptive_field")
def _inside_receptive_field(fn) -> str:
    cases = [
        [(5, 1), (2, 2), (3, 1), (2, 2), (3, 1)],  # this chapter's conv1 ... conv3
        [(3, 1), (3, 1), (3, 1)],
        [(7, 2), (3, 2), (3, 1)],  # a ResNet-style stem: strided convolution, then pooling
        [(1, 1)],
        [(4, 4), (4, 4)],  # non-overlapping windows
    ]
    for layers in cases:
        expect_equal(call(fn, layers), _measured_receptive_field(layers), f"layers {layers}")
    return (
        "Equals the support of the input gradient of one output "
        "unit for 5 stacks (strides 1, 2 and 4)."
    )


def _classifier(channels: int, size: int, classes: int, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * size * size, classes),
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


@exercise("inside_saliency_map")
def _inside_saliency_map(fn) -> str:
    cases = [(4, 1, 6, 3), (1, 1, 5, 10), (3, 3, 8, 4)]  # (batch, channels, size, classes)
    for seed, (n, c, size, classes) in enumerate(cases):
        g = torch.Generator().manual_seed(100 + seed)
        model = _classifier(c, size, classes, seed)
        x = torch.randn(n, c, size, size, generator=g)
        target = torch.randint(0, classes, (n,), generator=g)
        want = []
        for i in range(n):  # one image at a time: the reference does not rely on batching
            xi = x[i : i + 1].clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(model(xi)[0, target[i]], xi)
            want.append(grad[0].abs().amax(dim=0))  # (size, size)
        got = call(fn, model, x.clone(), target.clone())
        what = f"batch of {n} images, {c} channel(s), {size}x{size}, {classes} classes"
        expect_close(got, torch.stack(want), what)
    return (
        "Matches |d score / d pixel| from autograd, one image at a "
        "time, for 3 batches (1 and 3 channels, batch 1)."
    )
