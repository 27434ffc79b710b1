"""Measuring devices for "how does batch norm help?" (claim C26): injected covariate shift,
the drift of a layer's input distribution, and the loss landscape along the update.

Santurkar, Tsipras, Ilyas and Madry (2018, "How does batch normalization help
optimization?") tested the internal-covariate-shift explanation in two ways, both here:

- :class:`DriftingNoise` sits after a batch-norm layer and moves the distribution of
  every unit on purpose, by a per-unit shift and scale that follow a random walk (a
  systematic drift) plus a fresh draw at every step; :func:`input_moments` and
  :func:`drift` measure how far a layer's input distribution really moves.
- :func:`landscape` takes the gradient direction ``g`` at the current weights and
  measures, for several step sizes ``eta``, the loss ``L(w - eta g)`` and the change of
  gradient ``||grad L(w - eta g) - grad L(w)||``: the spread of the loss along the step
  and the effective smoothness ``beta = max ||change of gradient|| / ||eta g||``.

None of this is a layer of the library: :class:`DriftingNoise` is a perturbation, and
the loss is a plain cross-entropy written out with ``logsumexp``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call


class DriftingNoise(nn.Module):
    r"""Covariate shift on purpose: a per-unit scale and shift that keep moving.

    At every training forward pass (one per SGD step) each unit :math:`j` takes one step
    of a random walk and a fresh draw,

    .. math::
        a_j(t) = a_j(t-1) + \mathcal{N}(0, \sigma_a^2), \quad
        b_j(t) = b_j(t-1) + \mathcal{N}(0, \sigma_b^2), \\
        y_{:,j} = x_{:,j}\, e^{\,b_j(t) + u_j} + a_j(t) + v_j, \quad
        u_j \sim U(-\log s, \log s),\ v_j \sim U(-m, m),

    shared by every example of the batch: the mean and scale the next layer sees move
    systematically (the walk) and jump at every step (the draw). With ``hold = True`` the
    state does not advance and the last draw is reused (for probes that must not count as
    a step). In eval mode it applies the expected transform of the current step,
    :math:`x\, e^{b_j(t)} + a_j(t)` (the walk without the draw).

    Args:
        num_features: number of units :math:`C`.
        walk_shift: :math:`\sigma_a`, sd of the shift's random-walk step.
        walk_log_scale: :math:`\sigma_b`, sd of the log-scale's random-walk step.
        jump_shift: :math:`m`, half-width of the fresh shift drawn each step.
        jump_scale: :math:`s \ge 1`, the fresh scale factor lies in :math:`[1/s, s]`.

    Shape:
        - Input: :math:`(N, C)`.
        - Output: :math:`(N, C)`.

    Examples::

        >>> import torch
        >>> from scratch.analysis.landscape import DriftingNoise
        >>> noise = DriftingNoise(8)
        >>> noise(torch.randn(4, 8)).shape, noise.eval()(torch.ones(4, 8)).equal(torch.ones(4, 8))
        (torch.Size([4, 8]), False)
    """

    def __init__(
        self,
        num_features: int,
        walk_shift: float = 0.1,
        walk_log_scale: float = 0.03,
        jump_shift: float = 0.5,
        jump_scale: float = 1.5,
    ) -> None:
        super().__init__()
        if jump_scale < 1:
            raise ValueError(f"{type(self).__name__}: expected jump_scale >= 1, got {jump_scale}")
        self.num_features = num_features
        self.walk_shift, self.walk_log_scale = walk_shift, walk_log_scale
        self.jump_shift, self.jump_log_scale = jump_shift, math.log(jump_scale)
        self.hold = False
        self.register_buffer("shift", torch.zeros(num_features))  # a_j(t)
        self.register_buffer("log_scale", torch.zeros(num_features))  # b_j(t)
        self.register_buffer("jump_add", torch.zeros(num_features))  # v_j of this step
        self.register_buffer("jump_log", torch.zeros(num_features))  # u_j of this step

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: expected input (N, {self.num_features}), "
                f"got {tuple(x.shape)}"
            )
        if not self.training:
            # y = x exp(b) + a: the expected transform of the current step
            return x * torch.exp(self.log_scale) + self.shift
        if not self.hold:
            with torch.no_grad():
                c = self.num_features
                self.shift += self.walk_shift * torch.randn(c)
                self.log_scale += self.walk_log_scale * torch.randn(c)
                self.jump_add.copy_(torch.empty(c).uniform_(-self.jump_shift, self.jump_shift))
                self.jump_log.copy_(
                    torch.empty(c).uniform_(-self.jump_log_scale, self.jump_log_scale)
                )
        # y = x exp(b + u) + a + v
        return x * torch.exp(self.log_scale + self.jump_log) + self.shift + self.jump_add

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, walk_shift={self.walk_shift}, "
            f"walk_log_scale={self.walk_log_scale}, jump_shift={self.jump_shift}, "
            f"jump_scale={math.exp(self.jump_log_scale):g}"
        )


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    r"""Mean cross-entropy :math:`\operatorname{mean}_i [\log \sum_k e^{z_{ik}} - z_{i y_i}]`.

    Shape:
        - logits: :math:`(N, K)`; y: :math:`(N,)` class indices.

    Returns:
        a scalar tensor.
    """
    return (torch.logsumexp(logits, dim=1) - logits.gather(1, y[:, None])[:, 0]).mean()


def _state(model: nn.Module) -> dict[str, Tensor]:
    """Clones of every buffer (running statistics, noise state): forwards on the clones
    leave the model's own buffers untouched."""
    return {k: v.clone() for k, v in model.named_buffers()}


class _held:
    """Context: every :class:`DriftingNoise` in ``model`` holds its current draw."""

    def __init__(self, model: nn.Module) -> None:
        self.noises = [m for m in model.modules() if isinstance(m, DriftingNoise)]

    def __enter__(self) -> None:
        self.before = [n.hold for n in self.noises]
        for n in self.noises:
            n.hold = True

    def __exit__(self, *exc: object) -> None:
        for n, h in zip(self.noises, self.before):
            n.hold = h


def input_moments(model: nn.Module, layer: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-unit mean and standard deviation of the input that ``layer`` (a sub-module of
    ``model``) receives when ``model`` runs on the probe batch ``x`` in training mode, as
    the layer sees it while training. Buffers (batch-norm running statistics, noise state)
    are left as they were and :class:`DriftingNoise` does not advance.

    Shape:
        - x: :math:`(N, *)`, the model's input.

    Returns:
        ``(mean, sd)``, each of shape :math:`(C,)` for a layer input of shape :math:`(N, C)`.
    """
    seen: dict[str, Tensor] = {}
    handle = layer.register_forward_pre_hook(lambda m, args: seen.update(x=args[0].detach()))
    was_training = model.training
    try:
        model.train()
        with torch.no_grad(), _held(model):
            functional_call(model, _state(model), (x,))
    finally:
        handle.remove()
        model.train(was_training)
    inp = seen["x"]
    return inp.mean(0), inp.std(0)


def drift(moments: Sequence[tuple[Tensor, Tensor]], eps: float = 1e-3) -> float:
    r"""How far a layer's input distribution moves between consecutive probes:

    .. math::
        \text{drift} = \operatorname{mean}_{t,\,j}\,
            \frac{|\mu_j(t+1) - \mu_j(t)|}{\sigma_j(t) + \epsilon}

    over units :math:`j` and consecutive probes :math:`t` (the output of
    :func:`input_moments` at each probe).

    Shape:
        - moments: a sequence of at least two ``(mean, sd)`` pairs of shape :math:`(C,)`.

    Returns:
        a float: the mean move of a unit's mean, in units of its standard deviation.
    """
    if len(moments) < 2:
        raise ValueError(f"drift: expected at least two probes, got {len(moments)}")
    moves = [
        float(((m1 - m0).abs() / (s0 + eps)).mean())
        for (m0, s0), (m1, _) in zip(moments, moments[1:])
    ]
    return sum(moves) / len(moves)


def _loss_grad(model: nn.Module, params: dict[str, Tensor], buffers, x, y, loss_fn):
    """Loss and flat gradient at ``params`` (buffers are cloned, so nothing is updated)."""
    params = {k: v.detach().requires_grad_() for k, v in params.items()}
    bufs = {k: v.clone() for k, v in buffers.items()}
    loss = loss_fn(functional_call(model, (params, bufs), (x,)), y)
    grads = torch.autograd.grad(loss, list(params.values()))
    return float(loss.detach()), torch.cat([g.reshape(-1) for g in grads])


def landscape(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    etas: Sequence[float],
    loss_fn=cross_entropy,
) -> dict[str, float]:
    r"""The loss and the gradient along the gradient step, on the batch ``(x, y)``.

    With :math:`g = \nabla L(w)` at the model's current weights :math:`w` (training
    mode: batch statistics of ``x``; noise held), for each :math:`\eta` in ``etas``:

    .. math::
        \ell(\eta) = L(w - \eta g), \qquad
        \Delta(\eta) = \lVert \nabla L(w - \eta g) - g \rVert .

    Nothing in the model changes (weights, buffers and noise state are left as they were).

    Shape:
        - x: :math:`(N, *)` inputs, y: :math:`(N,)` class indices; ``etas``: positive
          step sizes.

    Returns:
        ``{"loss_range": max - min of L over w and every w - eta g (nan if a loss is
        not finite),
        "grad_change": max over eta of Delta(eta),
        "beta": max over eta of Delta(eta) / (eta ||g||) (the effective smoothness),
        "grad_norm": ||g||, "loss": L(w)}``.
    """
    if not etas or min(etas) <= 0:
        raise ValueError(f"landscape: expected positive step sizes, got {list(etas)}")
    was_training = model.training
    model.train()
    try:
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = dict(model.named_buffers())
        with _held(model):
            loss0, g = _loss_grad(model, params, buffers, x, y, loss_fn)
            g_norm = float(g.norm())
            losses, changes, betas = [loss0], [], []
            for eta in etas:
                offset, moved = 0, {}
                for k, p in params.items():  # w - eta g, parameter by parameter
                    moved[k] = p - eta * g[offset : offset + p.numel()].view_as(p)
                    offset += p.numel()
                loss_e, g_e = _loss_grad(model, moved, buffers, x, y, loss_fn)
                change = float((g_e - g).norm())
                losses.append(loss_e)
                changes.append(change)
                betas.append(change / (eta * g_norm) if g_norm > 0 else 0.0)
    finally:
        model.train(was_training)
    finite = [v for v in losses if math.isfinite(v)]
    return {
        "loss_range": max(finite) - min(finite) if len(finite) == len(losses) else math.nan,
        "grad_change": max(changes),
        "beta": max(betas),
        "grad_norm": g_norm,
        "loss": loss0,
    }
