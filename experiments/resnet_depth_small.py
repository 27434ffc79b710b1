"""Plain vs residual networks as depth grows, small enough to train to a plateau on a CPU.

The ``resnet_depth`` experiment's ``cpu`` scale trains the CIFAR ResNets for under one
epoch, too little to ask whether deeper residual nets end up better (C34c). This one
shrinks the network instead of the training: Fashion-MNIST averaged down to 14x14, CIFAR-
style nets of two stages (``width`` channels at 14x14, ``2 * width`` at 7x7, the same
BN-after-every-convolution basic blocks and option-A shortcuts, global average pool,
linear read-out), depth ``4n + 2`` for ``n`` blocks per stage, each with a plain twin
(the same layers, no shortcuts). Built from ``torch.nn`` layers, the twins of the
library's ``Conv2d``/``BatchNorm2d``/``Linear`` whose parity the layer tests prove (faster).

Every net trains for several epochs (SGD, momentum 0.9, weight decay, learning rate
divided by 10 at 50 % and 75 % of the steps) and records training and test loss and
error at ``eval_every`` steps (20 points along training). C34a (plain nets degrade) and
C34c (deeper residual nets do better) are decided with the rules of
:mod:`scratch.rules.gradient_flow`, C34c only where the training loss has reached a
plateau (:func:`scratch.rules.gradient_flow.last_fifth_drop`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from scratch import evidence
from scratch.rules import gradient_flow as rules
from scratch.utils import shifted

from .common import fashion_subset, new_figure, save_figure
from .resnet_depth import train_cifar_recipe
from .runner import Context, Experiment, at_scale


@dataclasses.dataclass(frozen=True)
class Config:
    """The protocol at one scale: the ``depths`` and ``width`` of the narrow nets, the
    image ``side`` after average pooling, the Fashion-MNIST subset sizes, SGD steps, batch,
    learning rate, momentum and weight decay, and how often and on how many images to
    evaluate.

    Examples::

        >>> from experiments.resnet_depth_small import CONFIGS
        >>> sorted(CONFIGS), CONFIGS["smoke"].seeds
        (['cpu', 'smoke'], (0,))
    """

    depths: tuple[int, ...] = (6, 14, 30)
    width: int = 8
    side: int = 14
    n_train: int = 5000
    n_test: int = 2000
    steps: int = 800
    batch: int = 50
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    eval_every: int = 40
    train_eval: int = 1000
    seeds: tuple[int, ...] = (0, 1, 2)


CONFIGS = {
    "smoke": Config(
        depths=(6, 10),
        n_train=64,
        n_test=32,
        steps=20,
        batch=16,
        eval_every=2,
        train_eval=32,
        seeds=(0,),
    ),
    # 3 depths x 2 kinds x 3 seeds, 8 epochs of 5,000 images: 25 minutes on one shared core
    "cpu": Config(),
}


class ShortcutA(nn.Module):
    """Option A of He et al.: subsample by ``stride`` and zero-pad the new channels,
    :math:`s(x) = [x_{::s, ::s}; 0]`.

    Shape: ``(N, in_planes, H, W)`` → ``(N, planes, ceil(H/stride), ceil(W/stride))``.

    Examples::

        >>> import torch
        >>> from experiments.resnet_depth_small import ShortcutA
        >>> ShortcutA(8, 16, 2)(torch.randn(2, 8, 14, 14)).shape
        torch.Size([2, 16, 7, 7])
    """

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.stride, self.pad = stride, planes - in_planes

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C_in, ceil(H/s), ceil(W/s))
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.pad))  # (N, planes, ...)


class Block(nn.Module):
    """``relu(BN(conv(relu(BN(conv(x))))) + s(x))``; no ``s(x)`` when plain.

    Args:
        stride: stride of the first convolution (and of the shortcut).
        residual: add the shortcut ``s(x)`` (identity, or :class:`ShortcutA` when the
            shape changes); ``False`` gives the plain block.

    Shape: ``(N, in_planes, H, W)`` → ``(N, planes, ceil(H/stride), ceil(W/stride))``.

    Examples::

        >>> import torch
        >>> from experiments.resnet_depth_small import Block
        >>> Block(8, 16, 2, residual=True)(torch.randn(2, 8, 14, 14)).shape
        torch.Size([2, 16, 7, 7])
    """

    def __init__(self, in_planes: int, planes: int, stride: int, residual: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = None
        if residual:
            self.shortcut = (
                ShortcutA(in_planes, planes, stride)
                if stride != 1 or in_planes != planes
                else nn.Identity()
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return torch.relu(out)


def build(depth: int, residual: bool, width: int = 8) -> nn.Module:
    """The two-stage net of ``depth = 4n + 2`` weighted layers (stem, ``2n`` blocks of two
    convolutions, linear read-out), He-initialized as in the paper."""
    if depth < 6 or (depth - 2) % 4:
        raise ValueError(
            f"resnet_depth_small: expected depth = 4n + 2 (6, 10, 14, ...), got {depth}"
        )
    n = (depth - 2) // 4
    layers: list[nn.Module] = [
        nn.Conv2d(1, width, 3, 1, 1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
    ]
    for stage, planes in enumerate((width, 2 * width)):
        for b in range(n):
            stride = 2 if stage == 1 and b == 0 else 1
            layers.append(
                Block(width if stage == 0 or b == 0 else planes, planes, stride, residual)
            )
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 10)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def small_fashion(config: Config):
    """:func:`~experiments.common.fashion_subset` averaged down to ``side`` x ``side``."""
    x, y, xt, yt = fashion_subset(config.n_train, config.n_test, data_seed=shifted(0))
    k = 28 // config.side
    return (nn.functional.avg_pool2d(x, k), y, nn.functional.avg_pool2d(xt, k), yt)


class ResnetDepthSmall(Experiment):
    """The ``resnet_depth_small`` experiment (``python -m experiments resnet_depth_small``):
    plain vs residual narrow nets at growing depth, trained to a plateau.

    Examples::

        >>> from experiments.resnet_depth_small import EXPERIMENT
        >>> EXPERIMENT.claims
        ('C34a', 'C34c')
        >>> EXPERIMENT.key_columns
        ('depth', 'residual', 'seed')
    """

    name = "resnet_depth_small"
    description = "plain vs residual narrow nets at growing depth, trained to a plateau"
    claims = ("C34a", "C34c")
    columns = ("depth", "residual", "seed", "step", "metric", "value")
    key_columns = ("depth", "residual", "seed")
    configs = CONFIGS

    def units(self, config: Config, seeds) -> list[dict]:
        return [
            {"depth": d, "residual": r, "seed": s}
            for s in seeds
            for d in config.depths
            for r in (False, True)
        ]

    def run_unit(self, unit: dict, config: Config, ctx: Context) -> list[dict]:
        data = small_fashion(config)
        model = build(unit["depth"], unit["residual"], config.width).to(ctx.device)
        points = train_cifar_recipe(model, data, config, ctx, unit["seed"])
        return [
            {"step": p["step"], "metric": k, "value": p[k]}
            for p in points
            for k in ("train_loss", "train_acc", "test_loss", "test_acc")
        ]

    # ---------------------------------------------------------------- verdicts

    @staticmethod
    def curves(table, depth: int, residual: bool, metric: str) -> list[list[tuple[int, float]]]:
        """One ``[(step, value), ...]`` curve per seed, seeds in order."""
        t = table[(table.depth == depth) & (table.residual == residual) & (table.metric == metric)]
        return [
            list(zip(g.step.astype(int), g.value.astype(float)))
            for _, g in sorted(t.groupby("seed"), key=lambda kv: kv[0])
        ]

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        """C34a and C34c by the rules of :mod:`scratch.rules.gradient_flow` (the ones
        chapter 4 and ``resnet_depth`` use), from the last evaluation of every run; C34c's
        plateau test reads each residual run's training-loss curve. A ``cpu`` run's "holds"
        becomes "holds with a caveat"; a smoke run decides nothing."""
        lo, hi = min(config.depths), max(config.depths)
        n_seeds = int(table.seed.nunique())
        epochs = config.steps * config.batch / config.n_train
        why = "" if scale == "smoke" else evidence.too_few_seeds(n_seeds)
        tail = (
            f"({scale} scale, Fashion-MNIST at {config.side}x{config.side}, width "
            f"{config.width}-{2 * config.width}, {config.n_train} training images, "
            f"{config.steps} steps = {epochs:.0f} epochs, depths {lo}-{hi}, "
            f"{n_seeds} seed(s){why})"
        )

        def err(depth, residual, part):
            return [1 - c[-1][1] for c in self.curves(table, depth, residual, f"{part}_acc")]

        def drops(depth, residual):
            return [
                rules.last_fifth_drop(c) for c in self.curves(table, depth, residual, "train_loss")
            ]

        def pct(values) -> str:
            return evidence.fmt_seeds(values, ".1f", 100.0, " %")

        c34a = rules.c34a_plain_nets_degrade(err(lo, False, "train"), err(hi, False, "train"))
        plateau = drops(lo, True) + drops(hi, True)
        c34c = rules.c34c_deeper_residual_better(
            err(lo, True, "test"),
            err(hi, True, "test"),
            epochs,
            err(lo, True, "train"),
            err(hi, True, "train"),
            plateau,
        )
        max_drop = 100 * max(plateau, default=float("inf"))
        return [
            evidence.format_verdict(
                "C34a",
                at_scale(c34a, scale),
                f"plain nets' training error {pct(err(lo, False, 'train'))} at depth {lo} -> "
                f"{pct(err(hi, False, 'train'))} at {hi} (test {pct(err(hi, False, 'test'))}); "
                f"residual training error at {hi}: {pct(err(hi, True, 'train'))} {tail}",
            ),
            evidence.format_verdict(
                "C34c",
                at_scale(c34c, scale),
                f"residual nets' test error {pct(err(lo, True, 'test'))} at depth {lo} -> "
                f"{pct(err(hi, True, 'test'))} at {hi} (training error "
                f"{pct(err(lo, True, 'train'))} -> {pct(err(hi, True, 'train'))}); their training "
                f"loss fell by up to {max_drop:.1f} % from the last evaluation at or "
                f"before 80 % of the steps to the end (plateau: under "
                f"{100 * rules.PLATEAU:.0f} %) {tail}",
            ),
        ]

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        fig, axes = new_figure(2, width=5.0)
        for (depth, residual), g in table.groupby(["depth", "residual"]):
            color = f"C{sorted(config.depths).index(int(depth)) % 10}"
            for ax, metric in zip(axes, ("train_acc", "test_acc")):
                c = g[g.metric == metric].groupby("step")["value"].mean()
                ax.plot(
                    c.index,
                    100 * (1 - c.values),
                    color=color,
                    marker=".",
                    ls="-" if residual else "--",
                    label=f"{'residual' if residual else 'plain'}-{depth}",
                )
        for ax, what in zip(axes, ("training", "test")):
            ax.set_xlabel("training step")
            ax.set_ylabel(f"{what} error (%, mean over seeds)")
            ax.set_title(f"{what.capitalize()} error (dashed: plain, solid: residual)")
        axes[1].legend(fontsize=7, ncol=2)
        return [save_figure(fig, out_dir / "error_curves.png")]


EXPERIMENT = ResnetDepthSmall()
