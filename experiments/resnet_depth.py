"""Plain vs residual networks as depth grows, on Fashion-MNIST.

The CIFAR ResNets of He et al. (2016) from ``scratch.models.cifar_resnet`` (depth
``6n + 2``, BN after every convolution, option-A shortcuts) and their plain twins (the
same layers without shortcuts) train alike at each depth: SGD with momentum 0.9, weight
decay, learning rate divided by 10 at 50 % and 75 % of the steps. Recorded: train and test
loss and error every ``eval_every`` steps (C34a: do deep plain nets
degrade? C34c: do deeper residual ones do better?).

Per-layer gradient norms on one fixed batch, for every convolution: the gradient
*arriving* at its output (``scratch.models.output_grad_norms``, metric
``arriving_grad_norm``) and the gradient of its weight (``grad_norms_by_layer``, metric
``grad_norm``), at initialization and, for the trained nets, after training. At
initialization they are also recorded for both nets without batch norm (``norm=none``)
and under two initializations (``init``): ``he``, the paper's (He normal, fan-out), and
``torch``, PyTorch's default for a convolution, the setting of the source document's
50-layer CNN whose early gradients vanish (C47) until residual connections or
normalization fix it (C35). Only the ``norm=bn``, ``init=he`` nets are trained.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import torch
from torch import nn

from scratch import evidence
from scratch.analysis import grad_norms_by_layer, output_grad_norms
from scratch.conv import Conv2d
from scratch.models import cifar_resnet
from scratch.normalization import BatchNorm2d
from scratch.rules import gradient_flow as rules

from .common import fashion_subset, new_figure, save_figure, train_classifier
from .runner import Context, Experiment, at_scale


@dataclasses.dataclass(frozen=True)
class Config:
    """The protocol at one scale: the ``depths`` of the plain and residual nets, the
    Fashion-MNIST subset sizes, SGD steps, batch, learning rate, momentum and weight decay,
    how often and on how many images to evaluate, and ``grad_batch`` for the gradient norms.

    Examples::

        >>> from experiments.resnet_depth import CONFIGS
        >>> sorted(CONFIGS), CONFIGS["smoke"].seeds
        (['cpu', 'full', 'smoke'], (0,))
    """

    depths: tuple[int, ...] = (20, 32, 44, 56, 110)
    n_train: int = 60000
    n_test: int = 10000
    steps: int = 6000
    batch: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    eval_every: int = 500
    train_eval: int = 10000
    grad_batch: int = 128
    seeds: tuple[int, ...] = (0,)


CONFIGS = {
    "smoke": Config(
        depths=(8, 14),
        n_train=64,
        n_test=32,
        steps=3,
        batch=16,
        eval_every=0,
        train_eval=32,
        grad_batch=16,
    ),
    # the protocol cut to fit a 2-core CPU in about 25 minutes: three depths, 300 steps of
    # 32 images (under one epoch of a 10,000-image subset), one seed
    "cpu": Config(
        depths=(20, 32, 56),
        n_train=10000,
        n_test=1000,
        steps=300,
        batch=32,
        lr=0.05,
        eval_every=150,
        train_eval=1000,
    ),
    "full": Config(),
}


# (norm, init) of the nets that train (the paper's), and of those measured at init only
TRAINED = ("bn", "he")
AT_INIT_ONLY = (("none", "he"), ("none", "torch"), ("bn", "torch"))


def train_cifar_recipe(model: nn.Module, data, config, ctx: Context, seed: int) -> list[dict]:
    """He et al.'s CIFAR recipe, cut to ``config``: SGD with momentum and weight decay, the
    learning rate divided by 10 at half and at three quarters of ``config.steps``; returns
    the trainer's evaluation points. Shared with ``resnet_depth_small``."""
    opt = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, [config.steps // 2, (3 * config.steps) // 4], gamma=0.1
    )
    return train_classifier(
        model,
        data,
        steps=config.steps,
        batch_size=config.batch,
        optimizer=opt,
        device=ctx.device,
        seed=seed,
        eval_every=config.eval_every,
        train_eval=config.train_eval,
        eval_batch=500,
        scheduler=sched,
    )


def strip_batchnorm(model: nn.Module) -> nn.Module:
    """Replace every ``BatchNorm2d`` by ``nn.Identity`` (a net without normalization)."""
    for name, child in model.named_children():
        if isinstance(child, BatchNorm2d):
            setattr(model, name, nn.Identity())
        else:
            strip_batchnorm(child)
    return model


def build(depth: int, residual: bool, norm: str, init: str = "he") -> nn.Module:
    """The CIFAR net at ``depth``; ``norm="none"`` strips its batch norms, ``init="torch"``
    resets every convolution to PyTorch's default initialization instead of He's."""
    model = cifar_resnet(depth, residual=residual, in_channels=1, num_classes=10)
    if init == "torch":
        for m in model.modules():
            if isinstance(m, Conv2d):
                m.reset_parameters()
    return strip_batchnorm(model) if norm == "none" else model


def _grad_rows(model: nn.Module, x, y, phase: str, step: int) -> list[dict]:
    model.train()
    model.zero_grad(set_to_none=True)
    arriving = output_grad_norms(model, lambda: nn.functional.cross_entropy(model(x), y))
    weights = grad_norms_by_layer(model)  # filled by the same backward pass
    model.zero_grad(set_to_none=True)
    return [
        {"phase": phase, "step": step, "metric": metric, "layer": name, "value": v}
        for metric, norms in (("arriving_grad_norm", arriving), ("grad_norm", weights))
        for name, v in norms
    ]


def grad_ratios(
    table, depth, residual, norm, init="he", phase="init", metric="arriving_grad_norm"
) -> list[float]:
    """``metric`` at the first convolution over that at the last one, one value per seed."""
    g = table[
        (table.depth == depth)
        & (table.residual == residual)
        & (table.norm == norm)
        & (table.init == init)
        & (table.phase == phase)
        & (table.metric == metric)
    ]
    # rows are in layer order within each run
    return [float(run.value.iloc[0] / run.value.iloc[-1]) for _, run in g.groupby("seed")]


def grad_ratio(
    table, depth, residual, norm, init="he", phase="init", metric="arriving_grad_norm"
) -> float:
    """The mean over seeds of :func:`grad_ratios`."""
    ratios = grad_ratios(table, depth, residual, norm, init, phase, metric)
    return float(sum(ratios) / len(ratios)) if ratios else math.nan


def spread(values, spec: str = ".2g", scale: float = 1.0, unit: str = "") -> str:
    """:func:`scratch.evidence.fmt_seeds` at two significant figures by default."""
    return evidence.fmt_seeds(values, spec, scale, unit)


class ResnetDepth(Experiment):
    """The ``resnet_depth`` experiment (``python -m experiments resnet_depth``): plain vs
    residual CIFAR-style nets at growing depth on Fashion-MNIST.

    Examples::

        >>> from experiments.resnet_depth import EXPERIMENT
        >>> EXPERIMENT.claims
        ('C34a', 'C34c', 'C35', 'C47')
        >>> EXPERIMENT.key_columns
        ('depth', 'residual', 'norm', 'init', 'seed')
    """

    name = "resnet_depth"
    description = "plain vs residual CIFAR-style nets at growing depth on Fashion-MNIST"
    claims = ("C34a", "C34c", "C35", "C47")
    columns = (
        "depth",
        "residual",
        "norm",
        "init",
        "seed",
        "phase",
        "step",
        "metric",
        "layer",
        "value",
    )
    key_columns = ("depth", "residual", "norm", "init", "seed")
    configs = CONFIGS

    def units(self, config: Config, seeds) -> list[dict]:
        units = [
            {"depth": d, "residual": r, "norm": norm, "init": init, "seed": s}
            for s in seeds
            for norm, init in AT_INIT_ONLY
            for d in config.depths
            for r in (False, True)
        ]
        units += [
            {"depth": d, "residual": r, "norm": TRAINED[0], "init": TRAINED[1], "seed": s}
            for s in seeds
            for d in config.depths
            for r in (False, True)
        ]
        return units

    def run_unit(self, unit: dict, config: Config, ctx: Context) -> list[dict]:
        data = fashion_subset(config.n_train, config.n_test)
        model = build(unit["depth"], unit["residual"], unit["norm"], unit["init"]).to(ctx.device)
        xg, yg = (
            data[0][: config.grad_batch].to(ctx.device),
            data[1][: config.grad_batch].to(ctx.device),
        )
        rows = _grad_rows(model, xg, yg, "init", 0)
        if (unit["norm"], unit["init"]) != TRAINED:
            return rows
        points = train_cifar_recipe(model, data, config, ctx, unit["seed"])
        for p in points:
            for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
                rows.append(
                    {"phase": "train", "step": p["step"], "metric": k, "layer": "", "value": p[k]}
                )
        rows += _grad_rows(model, xg, yg, "trained", config.steps)
        return rows

    # ---------------------------------------------------------------- verdicts

    @staticmethod
    def per_seed_errors(table) -> dict:
        """``(depth, residual, "train_err" or "test_err") -> [error per seed]`` at each
        trained run's last evaluation, seeds in order."""
        t = table[
            (table.phase == "train") & (table.norm == TRAINED[0]) & (table.init == TRAINED[1])
        ]
        last = t[t.step == t.groupby(["depth", "residual", "seed"]).step.transform("max")]
        out = {}
        for (depth, residual, metric), g in last.groupby(["depth", "residual", "metric"]):
            if metric in ("train_acc", "test_acc"):
                key = (int(depth), bool(residual), metric.replace("acc", "err"))
                out[key] = [1 - float(v) for v in g.sort_values("seed").value]
        return out

    @staticmethod
    def last_fifth_drops(table, depth: int, residual: bool = True) -> list[float]:
        """:func:`scratch.rules.gradient_flow.last_fifth_drop` of each trained run's
        training-loss curve at ``depth``, seeds in order (C34c's plateau test)."""
        t = table[
            (table.phase == "train")
            & (table.metric == "train_loss")
            & (table.depth == depth)
            & (table.residual == residual)
            & (table.norm == TRAINED[0])
            & (table.init == TRAINED[1])
        ]
        return [
            rules.last_fifth_drop(list(zip(g.step.astype(int), g.value.astype(float))))
            for _, g in sorted(t.groupby("seed"), key=lambda kv: kv[0])
        ]

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        """C34a, C34c, C47 and C35, each decided by the rule chapter 4 uses
        (:mod:`scratch.rules.gradient_flow`) from per-seed values: fewer than 3 seeds leave
        a claim inconclusive, under one epoch of training or a training loss still falling
        (:func:`scratch.rules.gradient_flow.last_fifth_drop`) leaves C34c not testable, a
        ``cpu`` run's "holds" becomes "holds with a caveat" and a smoke run decides
        nothing."""
        lo, hi = min(config.depths), max(config.depths)
        n_seeds = int(table.seed.nunique())
        epochs = config.steps * config.batch / config.n_train
        why = "" if scale == "smoke" else evidence.too_few_seeds(n_seeds)
        tail = (
            f"({scale} scale, Fashion-MNIST, {config.steps} steps = {epochs:.2f} epochs, "
            f"depths {lo}-{hi}, {n_seeds} seed(s){why})"
        )
        return [
            *self._c34_verdicts(table, config, scale, tail),
            *_gradient_verdicts(table, hi, scale, tail),
        ]

    def _c34_verdicts(self, table, config: Config, scale: str, tail: str) -> list[str]:
        """C34a and C34c, from the per-seed errors of the shallowest and deepest nets."""
        err = self.per_seed_errors(table)
        lo, hi = min(config.depths), max(config.depths)
        epochs = config.steps * config.batch / config.n_train

        def pct(values) -> str:
            return spread(values, ".1f", 100.0, " %")

        c34a = rules.c34a_plain_nets_degrade(
            err[lo, False, "train_err"], err[hi, False, "train_err"]
        )
        plateau = self.last_fifth_drops(table, lo) + self.last_fifth_drops(table, hi)
        c34c = rules.c34c_deeper_residual_better(
            err[lo, True, "test_err"],
            err[hi, True, "test_err"],
            epochs,
            err[lo, True, "train_err"],
            err[hi, True, "train_err"],
            plateau,
        )
        max_drop = 100 * max(plateau, default=float("inf"))
        short = "; under one epoch of training" if epochs < 1 else ""
        return [
            evidence.format_verdict(
                "C34a",
                at_scale(c34a, scale),
                f"plain nets' training error {pct(err[lo, False, 'train_err'])} at depth {lo} -> "
                f"{pct(err[hi, False, 'train_err'])} at {hi} "
                f"(test {pct(err[hi, False, 'test_err'])} at {hi}); "
                f"residual training error at {hi}: {pct(err[hi, True, 'train_err'])} {tail}",
            ),
            evidence.format_verdict(
                "C34c",
                at_scale(c34c, scale),
                f"residual nets' test error {pct(err[lo, True, 'test_err'])} at depth {lo} -> "
                f"{pct(err[hi, True, 'test_err'])} at {hi} (training error "
                f"{pct(err[lo, True, 'train_err'])} -> {pct(err[hi, True, 'train_err'])})"
                f"{short}; their training "
                f"loss fell by up to {max_drop:.1f} % from the last evaluation at or "
                f"before 80 % of the steps to the end (plateau: under "
                f"{100 * rules.PLATEAU:.0f} %) {tail}",
            ),
        ]

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        t = table[(table.phase == "train") & (table.norm == "bn") & (table.init == "he")]
        fig, axes = new_figure(2, width=5.0)
        cmap = {d: i for i, d in enumerate(config.depths)}
        colors = [f"C{i}" for i in range(10)]
        for (depth, residual), g in t.groupby(["depth", "residual"]):
            for ax, metric in zip(axes, ("train_acc", "test_acc")):
                c = g[g.metric == metric].groupby("step")["value"].mean()
                ax.plot(
                    c.index,
                    100 * (1 - c.values),
                    color=colors[cmap[depth] % 10],
                    ls="-" if residual else "--",
                    marker="o",
                    label=f"{'ResNet' if residual else 'plain'}-{depth}",
                )
        for ax, what in zip(axes, ("training", "test")):
            ax.set_xlabel("training step")
            ax.set_ylabel(f"{what} error (%)")
            ax.set_title(f"{what.capitalize()} error (dashed: plain, solid: residual)")
        axes[1].legend(fontsize=7, ncol=2)
        paths = [save_figure(fig, out_dir / "error_curves.png")]

        fig, axes = new_figure(2, width=5.0)
        hi = max(config.depths)
        g = table[(table.metric == "arriving_grad_norm") & (table.depth == hi)]
        for ax, phase in zip(axes, ("init", "trained")):
            for (residual, norm, init), run in g[g.phase == phase].groupby(
                ["residual", "norm", "init"]
            ):
                seed0 = run[run.seed == run.seed.min()]
                ax.plot(
                    range(len(seed0)),
                    seed0.value.values,
                    marker=".",
                    ls="-" if residual else "--",
                    label=f"{'residual' if residual else 'plain'}, "
                    f"{'BN' if norm == 'bn' else 'no norm'}, {init} init",
                )
            ax.set_yscale("log")
            ax.set_xlabel("convolution (input → output)")
            ax.set_ylabel("‖∂L/∂y‖₂ (gradient arriving at the output)")
            ax.set_title(f"Depth {hi}: gradient arriving at each conv ({phase})")
            ax.legend(fontsize=7)
        paths.append(save_figure(fig, out_dir / "grad_norms.png"))
        return paths


def _gradient_verdicts(table, hi: int, scale: str, tail: str) -> list[str]:
    """C47 and C35, from the arriving-gradient ratios of the deepest nets (not testable
    below depth 44)."""
    deep_enough = hi >= 44
    r = {
        (res, norm, init): grad_ratios(table, hi, res, norm, init)
        for res in (False, True)
        for norm, init in (*AT_INIT_ONLY, TRAINED)
    }
    r_w = grad_ratios(table, hi, False, "none", "torch", metric="grad_norm")
    r_trained = grad_ratios(table, hi, False, "bn", "he", phase="trained")
    plain, plain_he = r[(False, "none", "torch")], r[(False, "none", "he")]
    c47 = (
        rules.c47_plain_early_gradients_vanish(plain, plain_he, r_w)
        if deep_enough
        else evidence.UNTESTABLE
    )
    # C35 in the setting where the gradient vanishes: PyTorch's default init
    shortcut, bn = r[(True, "none", "torch")], r[(False, "bn", "torch")]
    c35 = (
        rules.c35_residual_and_norm_fix_vanishing(plain, shortcut, bn)
        if deep_enough
        else evidence.UNTESTABLE
    )
    return [
        evidence.format_verdict(
            "C47",
            at_scale(c47, scale),
            f"plain net of depth {hi} without batch norm, gradient arriving at the first "
            f"conv / at the last one, at init: {spread(plain, '.1e')} with PyTorch's "
            f"default init, {spread(plain_he)} with He init (weight gradients, "
            f"PyTorch init: {spread(r_w)}); with batch norm and He init "
            f"{spread(r[(False, 'bn', 'he')])} at init, {spread(r_trained)} after training "
            f"{tail}",
        ),
        evidence.format_verdict(
            "C35",
            at_scale(c35, scale),
            f"depth {hi}, PyTorch's default init, arriving-gradient ratio first/last conv at "
            f"init: plain {spread(plain, '.1e')}; with shortcuts "
            f"{spread(shortcut)}; with batch norm {spread(bn)}; "
            f"both {spread(r[(True, 'bn', 'torch')])} {tail}",
        ),
    ]


EXPERIMENT = ResnetDepth()
