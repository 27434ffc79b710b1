"""Chapter 5's checks: the scale of Xavier and He initialization, and one SGD step with momentum."""

from __future__ import annotations

import torch

from scratch.exercises import Wrong, call, exercise, expect_close, expect_equal


def _pair(got, what: str) -> tuple:
    if got is None:
        raise Wrong(f"{what}: your function returned None (is a `return` missing?)")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Wrong(f"{what}: expected a pair of two values, got {type(got).__name__}")
    return tuple(got)


def _torch_std(initializer, shape: tuple[int, ...], seed: int, **kwargs) -> float:
    """The standard deviation torch.nn.init used, read off its own draw: the initializer
    draws N(0, std^2) with the generator, so dividing by the N(0, 1) draw of the same
    generator state recovers std (to rounding), whatever the sample size."""
    w = initializer(
        torch.empty(shape, dtype=torch.float64),
        generator=torch.Generator().manual_seed(seed),
        **kwargs,
    )
    z = torch.empty(shape, dtype=torch.float64)
    z.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(seed))
    return ((w * w).sum() / (z * z).sum()).sqrt().item()


@exercise("init_std_from_fans")
def _init_std_from_fans(fn) -> str:
    cases = [
        ((256, 784), "relu", 0.0),  # Linear(784, 256)
        ((128, 64, 3), "tanh", 0.0),  # Conv1d(64, 128, 3)
        ((16, 8, 3, 3), "leaky_relu", 0.2),  # Conv2d(8, 16, 3)
        ((10, 3, 5, 5), "linear", 0.0),
        ((1, 1), "sigmoid", 0.0),  # a single weight
    ]
    for k, (shape, nonlinearity, a) in enumerate(cases):
        gain = torch.nn.init.calculate_gain(nonlinearity, a)
        xavier = _torch_std(torch.nn.init.xavier_normal_, shape, k, gain=gain)
        he = _torch_std(torch.nn.init.kaiming_normal_, shape, k, a=a, nonlinearity=nonlinearity)
        what = f"weight of shape {shape}, gain {gain:.4g} ({nonlinearity})"
        got_xavier, got_he = _pair(call(fn, shape, gain), what)
        expect_equal(got_xavier, xavier, f"{what}, Xavier std")
        expect_equal(got_he, he, f"{what}, He std")
    return (
        "Both standard deviations equal those of torch.nn.init.xavier_normal_ and kaiming_normal_ "
        "for 5 weight shapes (Linear, Conv1d, Conv2d) and 5 gains."
    )


@exercise("sgd_momentum_step")
def _sgd_momentum_step(fn) -> str:
    g = torch.Generator().manual_seed(5)
    cases = [
        ((3, 4), 0.1, 0.9, 0.0),
        ((5,), 0.5, 0.0, 0.0),  # plain SGD
        ((2, 3, 4), 0.05, 0.9, 0.01),  # with weight decay
        ((1,), 1.0, 0.5, 0.1),  # a single parameter
    ]
    for shape, lr, momentum, weight_decay in cases:
        start = torch.randn(shape, generator=g)
        grads = [torch.randn(shape, generator=g) for _ in range(3)]
        p = start.clone().requires_grad_(True)
        opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
        param, buf = start.clone(), None
        for step, grad in enumerate(grads, start=1):
            p.grad = grad.clone()
            opt.step()
            what = (
                f"step {step}, param of shape {shape}, lr={lr}, "
                f"momentum={momentum}, weight_decay={weight_decay}"
            )
            got = call(
                fn,
                param.clone(),
                grad.clone(),
                buf,
                lr=lr,
                momentum=momentum,
                weight_decay=weight_decay,
            )
            param, buf = _pair(got, what)
            expect_close(param, p.detach(), f"{what}: the new parameter")
            if momentum:
                expect_close(buf, opt.state[p]["momentum_buffer"], f"{what}: the momentum buffer")
    return (
        "Matches three steps of torch.optim.SGD for 4 settings "
        "(momentum 0 and 0.9, with weight decay)."
    )
