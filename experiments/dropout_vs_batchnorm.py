"""Dropout vs batch norm on Fashion-MNIST, across a learning-rate sweep.

Document 003's small CNN (``scratch.models.SmallImageClassifier``) in four variants:
``none`` (no dropout, no BN), ``dropout`` (p = 0.5 before the last layer), ``batchnorm``
(``BatchNorm2d`` after each convolution) and ``both``. Each trains with SGD (momentum
0.9) on a fixed subset of the training images small enough to overfit, at every learning
rate of the sweep, for several seeds. Recorded every ``eval_every`` steps: train and test
loss and accuracy. From these:

- train-test gap at the end (overfitting; C23, C27);
- steps to reach ``target_acc`` test accuracy (speed; C25);
- the highest learning rate that still trains, i.e. ends above ``trains_acc`` test
  accuracy in every seed (C25).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch

from scratch import evidence
from scratch.models import SmallImageClassifier

from .common import fashion_subset, new_figure, save_figure, train_classifier
from .runner import Context, Experiment, claim_status

VARIANTS = ("none", "dropout", "batchnorm", "both")


@dataclasses.dataclass(frozen=True)
class Config:
    n_train: int = 5000
    n_test: int = 5000
    steps: int = 3000
    batch: int = 64
    eval_every: int = 250
    lrs: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    momentum: float = 0.9
    dropout: float = 0.5
    target_acc: float = 0.8
    trains_acc: float = 0.5
    seeds: tuple[int, ...] = (0, 1, 2)


CONFIGS = {
    "smoke": Config(
        n_train=96,
        n_test=64,
        steps=3,
        batch=32,
        eval_every=0,
        lrs=(0.01, 1.0),
        target_acc=0.3,
        trains_acc=0.2,
        seeds=(0,),
    ),  # fmt: skip
    # the protocol cut to fit a 2-core CPU in about 25 minutes: 1,000 training images,
    # 400 steps of 32, five learning rates up to where every variant fails, two seeds
    "cpu": Config(
        n_train=1000,
        n_test=2000,
        steps=400,
        batch=32,
        eval_every=50,
        lrs=(0.01, 0.03, 0.1, 0.2, 0.3),
        target_acc=0.75,
        seeds=(0, 1),
    ),  # fmt: skip
    "full": Config(),
}


class DropoutVsBatchnorm(Experiment):
    name = "dropout_vs_batchnorm"
    description = "none/dropout/BN/both small CNNs on Fashion-MNIST over a learning-rate sweep"
    claims = ("C23", "C25", "C27")
    columns = ("variant", "lr", "seed", "step", "metric", "value")
    key_columns = ("variant", "lr", "seed")
    configs = CONFIGS

    def units(self, config: Config, seeds) -> list[dict]:
        return [
            {"variant": v, "lr": lr, "seed": s}
            for s in seeds
            for lr in config.lrs
            for v in VARIANTS
        ]

    def run_unit(self, unit: dict, config: Config, ctx: Context) -> list[dict]:
        data = fashion_subset(config.n_train, config.n_test)
        v = unit["variant"]
        net = SmallImageClassifier(
            dropout=config.dropout if v in ("dropout", "both") else 0.0,
            batchnorm=v in ("batchnorm", "both"),
        )
        opt = torch.optim.SGD(net.parameters(), lr=unit["lr"], momentum=config.momentum)
        points = train_classifier(net, data, steps=config.steps, batch_size=config.batch,
                                  optimizer=opt, device=ctx.device, seed=unit["seed"],
                                  eval_every=config.eval_every)  # fmt: skip
        return [
            {"step": p["step"], "metric": k, "value": p[k]}
            for p in points
            for k in ("train_loss", "train_acc", "test_loss", "test_acc")
        ]

    # ---------------------------------------------------------------- summaries

    @staticmethod
    def per_run(table, config: Config):
        """One row per (variant, lr, seed): final accuracies, gap, steps to target."""
        import pandas as pd

        rows = []
        for (v, lr, seed), g in table.groupby(["variant", "lr", "seed"]):
            acc = g[g.metric == "test_acc"].sort_values("step")
            tr = g[g.metric == "train_acc"].sort_values("step")
            final_step = int(acc.step.max())
            test_acc = float(acc.value.iloc[-1])
            train_acc = float(tr.value.iloc[-1])
            hit = acc[acc.value >= config.target_acc]
            diverged = bool(g[g.metric == "train_loss"].value.isna().any())
            rows.append({
                "variant": v, "lr": lr, "seed": seed, "test_acc": test_acc,
                "train_acc": train_acc, "gap": train_acc - test_acc,
                "steps_to_target": float(hit.step.iloc[0]) if len(hit) else math.nan,
                "trains": (not diverged) and test_acc >= config.trains_acc,
                "final_step": final_step,
            })  # fmt: skip
        return pd.DataFrame(rows)

    @staticmethod
    def ceiling(runs, variant: str) -> float:
        """Highest learning rate at which every seed of ``variant`` trains (nan if none)."""
        ok = runs[runs.variant == variant].groupby("lr")["trains"].all()
        return float(ok[ok].index.max()) if ok.any() else math.nan

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        runs = self.per_run(table, config)
        mean = runs.groupby(["variant", "lr"]).agg(
            gap=("gap", "mean"), gap_sd=("gap", "std"), test_acc=("test_acc", "mean"),
            steps=("steps_to_target", "mean"), trains=("trains", "all"),
        ).fillna({"gap_sd": 0.0})  # fmt: skip
        n_seeds = runs.seed.nunique()
        tail = f"({scale} scale, {config.steps} steps, {config.n_train} training images, {n_seeds} seed(s))"
        status = claim_status(scale)

        def best_lr(variant):
            sub = mean.loc[variant]
            sub = sub[sub.trains] if sub.trains.any() else sub
            return float(sub.test_acc.idxmax())

        # C23: dropout vs none, at the learning rates where both train
        both_train = [lr for lr in config.lrs
                      if mean.loc[("none", lr), "trains"] and mean.loc[("dropout", lr), "trains"]]  # fmt: skip
        lower = [lr for lr in both_train
                 if mean.loc[("dropout", lr), "gap"] < mean.loc[("none", lr), "gap"]]  # fmt: skip
        lr0 = best_lr("none")
        g_none, g_drop = mean.loc[("none", lr0)], mean.loc[("dropout", lr0)]
        lines = [evidence.format_verdict(
            "C23", status(len(both_train) > 0 and len(lower) > len(both_train) / 2),
            f"dropout narrowed the train-test gap at {len(lower)} of {len(both_train)} learning "
            f"rates where both train; at lr {lr0:g}: {100 * g_none.gap:.1f} ± {100 * g_none.gap_sd:.1f} "
            f"points without, {100 * g_drop.gap:.1f} ± {100 * g_drop.gap_sd:.1f} with p={config.dropout} {tail}")]  # fmt: skip

        c_none, c_bn = self.ceiling(runs, "none"), self.ceiling(runs, "batchnorm")
        s_none, s_bn = g_none.steps, mean.loc[("batchnorm", lr0), "steps"]
        higher = (not math.isnan(c_bn)) and (math.isnan(c_none) or c_bn > c_none)
        faster = (not math.isnan(s_bn)) and (math.isnan(s_none) or s_bn < s_none)
        lines.append(evidence.format_verdict(
            "C25", status(higher or faster, caveat=not (higher and faster)),
            f"highest learning rate that trains: {c_bn:g} with batch norm vs {c_none:g} without; "
            f"steps to {100 * config.target_acc:.0f} % test accuracy at lr {lr0:g}: "
            f"{s_bn:g} vs {s_none:g} {tail}"))  # fmt: skip

        lr_bn, lr_do = best_lr("batchnorm"), best_lr("dropout")
        bn, do = mean.loc[("batchnorm", lr_bn)], mean.loc[("dropout", lr_do)]
        g_none_bn = mean.loc[("none", lr_bn)]
        regularizes = bn.gap < g_none_bn.gap
        replaces = bn.test_acc >= do.test_acc - 0.005
        lines.append(evidence.format_verdict(
            "C27", status(regularizes and replaces),
            f"at lr {lr_bn:g} batch norm's gap is {100 * bn.gap:.1f} points vs "
            f"{100 * g_none_bn.gap:.1f} without (best test accuracy {100 * bn.test_acc:.1f} % "
            f"with BN alone vs {100 * do.test_acc:.1f} % with dropout alone at lr {lr_do:g}) {tail}"))  # fmt: skip
        return lines

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        runs = self.per_run(table, config)
        stats = runs.groupby(["variant", "lr"]).agg(
            test=("test_acc", "mean"), test_sd=("test_acc", "std"),
            gap=("gap", "mean"), gap_sd=("gap", "std"),
        ).fillna(0.0)  # fmt: skip
        fig, axes = new_figure(3, width=4.4)
        for v in VARIANTS:
            s = stats.loc[v]
            axes[0].errorbar(
                s.index, 100 * s.test, yerr=100 * s.test_sd, marker="o", capsize=3, label=v
            )
            axes[1].errorbar(
                s.index, 100 * s.gap, yerr=100 * s.gap_sd, marker="o", capsize=3, label=v
            )
        for ax, ylabel in zip(
            axes[:2], ("final test accuracy (%)", "train − test accuracy (points)")
        ):
            ax.set_xscale("log")
            ax.set_xlabel("learning rate (SGD, momentum 0.9)")
            ax.set_ylabel(ylabel)
        axes[0].legend(fontsize=8)
        lr0 = config.lrs[len(config.lrs) // 2]
        curves = table[(table.lr == lr0) & (table.metric == "test_acc")]
        for v in VARIANTS:
            c = curves[curves.variant == v].groupby("step")["value"].mean()
            axes[2].plot(c.index, 100 * np.asarray(c.values), marker=".", label=v)
        axes[2].set_xlabel("training step")
        axes[2].set_ylabel(f"test accuracy (%), lr {lr0:g}")
        axes[2].legend(fontsize=8)
        fig.suptitle("Dropout vs batch norm: accuracy, overfitting and learning-rate range")
        return [save_figure(fig, out_dir / "lr_sweep.png")]


EXPERIMENT = DropoutVsBatchnorm()
