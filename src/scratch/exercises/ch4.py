"""Chapter 4's checks: a gradient by hand through plain and residual tanh layers, and
clipping gradients by their global norm."""

from __future__ import annotations

import torch

from scratch.exercises import Wrong, call, exercise, expect_close


def _chain(x, weights, residual):
    h = x
    for w in weights:
        z = torch.tanh(h @ w.T)
        h = h + z if residual else z
    return h


@exercise("chain_input_grad")
def _chain_input_grad(fn) -> str:
    g = torch.Generator().manual_seed(4)
    cases = [
        (4, 5, 1, False),
        (4, 5, 3, False),
        (3, 6, 3, True),
        (1, 8, 12, False),
        (1, 8, 12, True),
    ]
    ratios = {}
    for batch, width, depth, residual in cases:
        x = torch.randn(batch, width, generator=g, dtype=torch.float64)
        weights = [
            torch.randn(width, width, generator=g, dtype=torch.float64) / width**0.5
            for _ in range(depth)
        ]
        grad_out = torch.randn(batch, width, generator=g, dtype=torch.float64)
        x_ = x.clone().requires_grad_()
        (want,) = torch.autograd.grad(_chain(x_, weights, residual), x_, grad_out)
        got = call(fn, x.clone(), [w.clone() for w in weights], grad_out.clone(), residual)
        kind = "residual" if residual else "plain"
        expect_close(
            got,
            want,
            f"{kind} chain of {depth} layers, x of shape {(batch, width)}",
            atol=1e-8,
            rtol=1e-6,
        )
        ratios[residual] = (want.norm() / grad_out.norm()).item()
    return (
        f"Matches autograd on 5 chains (1 to 12 layers, plain and residual, batch 1); through the "
        f"12-layer chains |dL/dx| / |dL/dh_L| is "
        f"{ratios[False]:.3f} plain, {ratios[True]:.2f} residual."
    )


@exercise("clip_grad_global_norm")
def _clip_grad_global_norm(fn) -> str:
    g = torch.Generator().manual_seed(4)
    cases = [
        ([(4, 3), (4,)], 1.0, 5.0),  # global norm far above max_norm: scaled down
        ([(4, 3), (4,)], 100.0, 5.0),  # below max_norm: unchanged
        ([(8, 2, 3, 3), (8,), (10, 8), (10,)], 0.5, 1.0),  # a conv and a linear layer
        ([(6,)], 2.0, 3.0),  # a single gradient
    ]
    norms = []
    for shapes, max_norm, scale in cases:
        grads = [torch.randn(s, generator=g) * scale for s in shapes]
        params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
        for p, grad in zip(params, grads):
            p.grad = grad.clone()
        norms.append(torch.nn.utils.clip_grad_norm_(params, max_norm).item())  # the norm before
        got = call(fn, [grad.clone() for grad in grads], max_norm)
        what = f"gradients of shapes {shapes}, max_norm={max_norm}"
        if not isinstance(got, (list, tuple)) or len(got) != len(grads):
            raise Wrong(f"{what}: expected a list of {len(grads)} tensors")
        for i, (mine, p) in enumerate(zip(got, params)):
            expect_close(mine, p.grad, f"{what}: gradient {i}")
    return (
        f"Matches torch.nn.utils.clip_grad_norm_ on 4 gradient "
        f"lists (clipped, left alone, 4 tensors, "
        f"1 tensor); the first has global norm {norms[0]:.2f}, scaled down to {cases[0][1]:g}."
    )
