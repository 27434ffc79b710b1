"""Plain vs residual networks as depth grows, on Fashion-MNIST.

The CIFAR ResNets of He et al. (2016) from ``scratch.models.cifar_resnet`` (depth
``6n + 2``, BN after every convolution, option-A shortcuts) and their plain twins (the
same layers without shortcuts) train alike at each depth: SGD with momentum 0.9, weight
decay, learning rate divided by 10 at 50 % and 75 % of the steps. Recorded: train and test
loss and error every ``eval_every`` steps (C34: do deep plain nets degrade while residual
ones improve?).

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
from scratch.conv import Conv2d
from scratch.models import cifar_resnet, grad_norms_by_layer, output_grad_norms
from scratch.normalization import BatchNorm2d

from .common import fashion_subset, new_figure, save_figure, train_classifier
from .runner import Context, Experiment, claim_status


@dataclasses.dataclass(frozen=True)
class Config:
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
    ),  # fmt: skip
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
    ),  # fmt: skip
    "full": Config(),
}


# (norm, init) of the nets that train (the paper's), and of those measured at init only
TRAINED = ("bn", "he")
AT_INIT_ONLY = (("none", "he"), ("none", "torch"), ("bn", "torch"))


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
    return [{"phase": phase, "step": step, "metric": metric, "layer": name, "value": v}
            for metric, norms in (("arriving_grad_norm", arriving), ("grad_norm", weights))
            for name, v in norms]  # fmt: skip


def grad_ratio(table, depth, residual, norm, init="he", phase="init",
               metric="arriving_grad_norm") -> float:  # fmt: skip
    """``metric`` at the first convolution over that at the last one (mean over seeds)."""
    g = table[(table.depth == depth) & (table.residual == residual) & (table.norm == norm)
              & (table.init == init) & (table.phase == phase) & (table.metric == metric)]  # fmt: skip
    ratios = []
    for _, run in g.groupby("seed"):
        ratios.append(run.value.iloc[0] / run.value.iloc[-1])  # rows are in layer order
    return float(sum(ratios) / len(ratios)) if ratios else math.nan


class ResnetDepth(Experiment):
    name = "resnet_depth"
    description = "plain vs residual CIFAR-style nets at growing depth on Fashion-MNIST"
    claims = ("C34", "C35", "C47")
    columns = ("depth", "residual", "norm", "init", "seed", "phase", "step", "metric", "layer",
               "value")  # fmt: skip
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
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                              weight_decay=config.weight_decay)  # fmt: skip
        sched = torch.optim.lr_scheduler.MultiStepLR(
            opt, [config.steps // 2, (3 * config.steps) // 4], gamma=0.1
        )
        points = train_classifier(
            model, data, steps=config.steps, batch_size=config.batch, optimizer=opt,
            device=ctx.device, seed=unit["seed"], eval_every=config.eval_every,
            train_eval=config.train_eval, eval_batch=500, scheduler=sched,
        )  # fmt: skip
        for p in points:
            for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
                rows.append({"phase": "train", "step": p["step"], "metric": k, "layer": "",
                             "value": p[k]})  # fmt: skip
        rows += _grad_rows(model, xg, yg, "trained", config.steps)
        return rows

    # ---------------------------------------------------------------- verdicts

    @staticmethod
    def final_errors(table):
        t = table[(table.phase == "train") & (table.norm == "bn") & (table.init == "he")]
        last = t[t.step == t.groupby(["depth", "residual", "seed"]).step.transform("max")]
        acc = last.pivot_table(index=["depth", "residual"], columns="metric", values="value")
        return 1 - acc[["train_acc", "test_acc"]].rename(
            columns={"train_acc": "train_err", "test_acc": "test_err"}
        )

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        err = self.final_errors(table)
        lo, hi = min(config.depths), max(config.depths)
        tail = f"({scale} scale, Fashion-MNIST, {config.steps} steps, depths {lo}-{hi})"
        res_better = err.loc[(hi, True), "test_err"] < err.loc[(lo, True), "test_err"]
        plain_worse = err.loc[(hi, False), "train_err"] > err.loc[(lo, False), "train_err"]
        c34 = claim_status(scale)(res_better and plain_worse, caveat=True)
        lines = [evidence.format_verdict(
            "C34", c34,
            f"residual test error {100 * err.loc[(lo, True), 'test_err']:.1f} % at depth {lo} -> "
            f"{100 * err.loc[(hi, True), 'test_err']:.1f} % at {hi}; plain training error "
            f"{100 * err.loc[(lo, False), 'train_err']:.1f} % -> {100 * err.loc[(hi, False), 'train_err']:.1f} % "
            f"(plain test {100 * err.loc[(hi, False), 'test_err']:.1f} % at {hi}); at depth {hi} "
            f"residual training error {100 * err.loc[(hi, True), 'train_err']:.1f} % vs plain "
            f"{100 * err.loc[(hi, False), 'train_err']:.1f} % {tail}")]  # fmt: skip

        deep_enough = hi >= 44
        r = {(res, norm, init): grad_ratio(table, hi, res, norm, init)
             for res in (False, True) for norm, init in (*AT_INIT_ONLY, TRAINED)}  # fmt: skip
        r_w = grad_ratio(table, hi, False, "none", "torch", metric="grad_norm")
        r_trained = grad_ratio(table, hi, False, "bn", "he", phase="trained")
        small = 0.01  # "very small": two orders of magnitude below the last layer's
        vanish_t, vanish_h = r[(False, "none", "torch")] < small, r[(False, "none", "he")] < small
        c47 = (evidence.decide(vanish_t or vanish_h, caveat=not (vanish_t and vanish_h))
               if deep_enough else evidence.UNTESTABLE)  # fmt: skip
        lines.append(evidence.format_verdict(
            "C47", c47,
            f"plain net of depth {hi} without batch norm, gradient arriving at the first conv / "
            f"at the last one, at init: {r[(False, 'none', 'torch')]:.1e} with PyTorch's default "
            f"init, {r[(False, 'none', 'he')]:.2g} with He init (weight gradients, PyTorch init: "
            f"{r_w:.2g}); with batch norm and He init {r[(False, 'bn', 'he')]:.2g} at init, "
            f"{r_trained:.2g} after training {tail}"))  # fmt: skip

        # C35 in the setting where the gradient vanishes: PyTorch's default init
        fix_res = r[(True, "none", "torch")] >= 0.1
        fix_bn = r[(False, "bn", "torch")] >= 0.1
        explodes = r[(False, "bn", "torch")] > 10
        c35 = (evidence.decide(fix_res and fix_bn, caveat=explodes)
               if deep_enough and vanish_t else evidence.UNTESTABLE)  # fmt: skip
        lines.append(evidence.format_verdict(
            "C35", c35,
            f"depth {hi}, PyTorch's default init, arriving-gradient ratio first/last conv: plain "
            f"{r[(False, 'none', 'torch')]:.1e}; with shortcuts {r[(True, 'none', 'torch')]:.2g}; "
            f"with batch norm {r[(False, 'bn', 'torch')]:.2g}"
            f"{' (explodes instead)' if explodes else ''}; both {r[(True, 'bn', 'torch')]:.2g} {tail}"))  # fmt: skip
        return lines

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        t = table[(table.phase == "train") & (table.norm == "bn") & (table.init == "he")]
        fig, axes = new_figure(2, width=5.0)
        cmap = {d: i for i, d in enumerate(config.depths)}
        colors = [f"C{i}" for i in range(10)]
        for (depth, residual), g in t.groupby(["depth", "residual"]):
            for ax, metric in zip(axes, ("train_acc", "test_acc")):
                c = g[g.metric == metric].groupby("step")["value"].mean()
                ax.plot(c.index, 100 * (1 - c.values), color=colors[cmap[depth] % 10],
                        ls="-" if residual else "--", marker="o",
                        label=f"{'ResNet' if residual else 'plain'}-{depth}")  # fmt: skip
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
                ax.plot(range(len(seed0)), seed0.value.values, marker=".",
                        ls="-" if residual else "--",
                        label=f"{'residual' if residual else 'plain'}, "
                              f"{'BN' if norm == 'bn' else 'no norm'}, {init} init")  # fmt: skip
            ax.set_yscale("log")
            ax.set_xlabel("convolution (input → output)")
            ax.set_ylabel("‖∂L/∂y‖₂ (gradient arriving at the output)")
            ax.set_title(f"Depth {hi}: gradient arriving at each conv ({phase})")
            ax.legend(fontsize=7)
        paths.append(save_figure(fig, out_dir / "grad_norms.png"))
        return paths


EXPERIMENT = ResnetDepth()
