"""The parity check every layer test uses: same weights in, same outputs, same gradients.

``assert_parity(ours, theirs, x, ...)`` copies ``theirs``' state dict into ``ours`` (which
must accept it strictly), runs both in the same mode on clones of the same inputs,
back-propagates the same random upstream gradient, and compares

* every output tensor (tuples and nested tuples are flattened in order),
* the gradient of every floating-point input,
* the gradient of every parameter, matched by name,
* every buffer after the forward pass (BatchNorm's running statistics).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


def flatten(obj) -> list[Tensor | None]:
    if isinstance(obj, Tensor) or obj is None:
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in flatten(item)]
    raise TypeError(f"cannot compare output of type {type(obj).__name__}")


def assert_same_state_layout(ours: nn.Module, theirs: nn.Module) -> None:
    """Same state_dict keys, shapes and dtypes, and loading works both ways."""
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st), f"state_dict keys differ:\n ours   {list(so)}\n theirs {list(st)}"
    for k in so:
        assert so[k].shape == st[k].shape, f"{k}: {tuple(so[k].shape)} vs {tuple(st[k].shape)}"
        assert so[k].dtype == st[k].dtype, f"{k}: {so[k].dtype} vs {st[k].dtype}"
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict(st, strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)


def _prepare(inputs: Sequence) -> list:
    out = []
    for x in inputs:
        if isinstance(x, Tensor) and x.is_floating_point():
            out.append(x.detach().clone().requires_grad_(True))
        elif isinstance(x, Tensor):
            out.append(x.clone())
        else:
            out.append(x)
    return out


def assert_parity(
    ours: nn.Module,
    theirs: nn.Module,
    *inputs,
    train: bool = True,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    call: Callable | None = None,
    seed: int = 0,
    check_input_grads: bool = True,
) -> None:
    """Assert ``ours`` computes what ``theirs`` computes, forward and backward.

    ``call(module, *inputs)`` runs a module (default: ``module(*inputs)``), for layers
    whose call takes keyword arguments (masks, initial states).
    """
    call = call or (lambda m, *xs: m(*xs))
    assert_same_state_layout(ours, theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.train(train)
    theirs.train(train)

    xo, xt = _prepare(inputs), _prepare(inputs)
    out_o, out_t = flatten(call(ours, *xo)), flatten(call(theirs, *xt))
    assert len(out_o) == len(out_t), f"{len(out_o)} outputs vs {len(out_t)}"
    for i, (a, b) in enumerate(zip(out_o, out_t, strict=True)):
        if a is None or b is None:
            assert a is None and b is None, f"output {i}: one is None"
            continue
        assert a.shape == b.shape, f"output {i}: shape {tuple(a.shape)} vs {tuple(b.shape)}"
        torch.testing.assert_close(
            a, b, atol=atol, rtol=rtol, msg=lambda m, i=i: f"output {i}: {m}"
        )

    # The same random upstream gradient for both.
    g = torch.Generator().manual_seed(seed)
    loss_o = loss_t = 0.0
    for a, b in zip(out_o, out_t, strict=True):
        if a is not None and a.requires_grad and a.is_floating_point():
            up = torch.randn(a.shape, generator=g, dtype=a.dtype)
            loss_o = loss_o + (a * up).sum()
            loss_t = loss_t + (b * up).sum()
    if isinstance(loss_o, Tensor):
        loss_o.backward()
        loss_t.backward()
        if check_input_grads:
            for i, (a, b) in enumerate(zip(xo, xt, strict=True)):
                if isinstance(a, Tensor) and a.requires_grad:
                    _close_grad(a.grad, b.grad, f"d/d input {i}", atol, rtol)
        params_t = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            _close_grad(p.grad, params_t[name].grad, f"d/d {name}", atol, rtol)

    buffers_t = dict(theirs.named_buffers())
    for name, buf in ours.named_buffers():
        torch.testing.assert_close(
            buf, buffers_t[name], atol=atol, rtol=rtol, msg=lambda m, n=name: f"buffer {n}: {m}"
        )


def _close_grad(a: Tensor | None, b: Tensor | None, what: str, atol: float, rtol: float) -> None:
    if a is None and b is None:
        return
    # torch leaves .grad None where a parameter took no part; treat that as zeros.
    a = torch.zeros_like(b) if a is None else a
    b = torch.zeros_like(a) if b is None else b
    torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=lambda m: f"{what}: {m}")


def copy_weights(ours: nn.Module, theirs: nn.Module) -> None:
    ours.load_state_dict(theirs.state_dict(), strict=True)
