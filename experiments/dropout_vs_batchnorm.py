"""Dropout vs batch norm on Fashion-MNIST, across a learning-rate sweep.

Document 003's small CNN (``scratch.models.SmallImageClassifier``) in four variants:
``none`` (no dropout, no BN), ``dropout`` (p = 0.5 before the last layer), ``batchnorm``
(``BatchNorm2d`` after each convolution) and ``both``. Each trains with SGD (momentum
0.9) on a fixed subset of the training images small enough to overfit, at every learning
rate of the sweep, for several seeds. Recorded every ``eval_every`` steps: train and test
loss and accuracy. From these:

- train-test gap at the end (overfitting; C23, C27), judged at every learning rate at
  which every seed of the variants compared trains;
- steps to reach ``target_acc`` test accuracy (speed; C25);
- per seed, the highest learning rate that still trains, i.e. ends above ``trains_acc``
  test accuracy (C25).

The verdicts come from the rules chapter 3 uses (:mod:`scratch.rules.regularization`),
which need at least three seeds.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch

from scratch import evidence
from scratch.models import SmallImageClassifier
from scratch.rules import regularization as rules

from .common import fashion_subset, new_figure, save_figure, train_classifier
from .runner import Context, Experiment, at_scale

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
            loss = g[g.metric == "test_loss"].sort_values("step")
            test_loss = float(loss.value.iloc[-1])
            hit = acc[acc.value >= config.target_acc]
            diverged = bool(g[g.metric == "train_loss"].value.isna().any())
            rows.append({
                "variant": v, "lr": lr, "seed": seed, "test_acc": test_acc,
                "train_acc": train_acc, "gap": train_acc - test_acc, "test_loss": test_loss,
                "steps_to_target": float(hit.step.iloc[0]) if len(hit) else math.nan,
                "trains": (not diverged) and test_acc >= config.trains_acc,
                "final_step": final_step,
            })  # fmt: skip
        return pd.DataFrame(rows)

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        """C23, C25 and C27, each decided by the rule chapter 3 uses (``scratch.rules``)
        from per-seed values; a ``cpu`` run's "holds" becomes "holds with a caveat", a
        smoke run decides nothing, and fewer than 3 seeds leave every claim inconclusive."""
        runs = self.per_run(table, config)
        n_seeds = runs.seed.nunique()
        why = "" if scale == "smoke" else evidence.too_few_seeds(n_seeds)
        tail = (f"({scale} scale, {config.steps} steps, {config.n_train} training images, "
                f"{n_seeds} seed(s){why})")  # fmt: skip
        mean = runs.groupby(["variant", "lr"]).agg(
            test_acc=("test_acc", "mean"), trains=("trains", "all")
        )

        def per_seed(variant, lr, key) -> list[float]:
            sub = runs[(runs.variant == variant) & (runs.lr == lr)].sort_values("seed")
            return [float(v) for v in sub[key]]

        def fmt(values, scale_=100.0, spec=".1f") -> str:
            return evidence.fmt_seeds(values, spec, scale_)

        def best_lr(variant):
            sub = mean.loc[variant]
            sub = sub[sub.trains] if sub.trains.any() else sub
            return float(sub.test_acc.idxmax())

        # C23 and C27 are judged at every learning rate of the sweep at which every seed
        # of every variant compared trains (a diverged run says nothing about overfitting)
        def usable(variants) -> tuple[list[float], list[float]]:
            ok = [lr for lr in config.lrs
                  if all(bool(mean.loc[(v, lr), "trains"]) for v in variants if (v, lr) in mean.index)
                  and all((v, lr) in mean.index for v in variants)]  # fmt: skip
            return ok, [lr for lr in config.lrs if lr not in ok]

        def skipped(lrs) -> str:
            return (f"; not judged at lr {', '.join(f'{lr:g}' for lr in lrs)} (a variant does not "
                    f"train on every seed)") if lrs else ""  # fmt: skip

        def gaps(variant, lr) -> list[float]:
            return per_seed(variant, lr, "gap")

        says = {True: "yes", False: "no", None: "the seeds cannot tell"}

        # C23: dropout vs none at every usable learning rate
        lrs23, out23 = usable(("none", "dropout"))
        data23 = {lr: {"train_none": per_seed("none", lr, "train_acc"),
                       "test_none": per_seed("none", lr, "test_acc"),
                       "train_dropout": per_seed("dropout", lr, "train_acc"),
                       "test_dropout": per_seed("dropout", lr, "test_acc")} for lr in lrs23}  # fmt: skip
        at23 = rules.c23_by_lr(data23)
        word23 = {
            True: "less overfitting",
            False: "not less overfitting",
            None: "the seeds cannot tell",
        }
        c23 = rules.c23_dropout_reduces_overfitting(data23)
        clauses = [f"lr {lr:g}: gap {fmt(gaps('none', lr))} -> {fmt(gaps('dropout', lr))} points, "
                   f"train accuracy {fmt(data23[lr]['train_none'])} -> {fmt(data23[lr]['train_dropout'])}, "
                   f"test accuracy {fmt(data23[lr]['test_none'])} -> {fmt(data23[lr]['test_dropout'])} % "
                   f"({word23[at23[lr]]})" for lr in lrs23]  # fmt: skip
        lines = [evidence.format_verdict(
            "C23", at_scale(c23, scale),
            f"dropout p={config.dropout} vs none, " + ("; ".join(clauses) or "no learning rate")
            + f"; less overfitting at {sum(v is True for v in at23.values())} of {len(lrs23)} "
            f"learning rates{skipped(out23)} {tail}")]  # fmt: skip

        # C25: per-seed learning-rate ceilings, and steps to the target at lr0, the learning
        # rate where "none" does best
        lr0 = best_lr("none")

        def ceilings(variant) -> list[float]:
            ok = runs[(runs.variant == variant) & runs.trains]
            return [float(ok[ok.seed == s].lr.max()) if (ok.seed == s).any() else 0.0
                    for s in sorted(runs.seed.unique())]  # fmt: skip

        def steps(variant) -> list[float]:  # never reached: the budget + 1
            return [config.steps + 1 if math.isnan(v) else v
                    for v in per_seed(variant, lr0, "steps_to_target")]  # fmt: skip

        c_bn, c_none = ceilings("batchnorm"), ceilings("none")
        c25 = rules.c25_batchnorm_higher_lr_faster(c_bn, c_none, steps("batchnorm"), steps("none"))
        lines.append(evidence.format_verdict(
            "C25", at_scale(c25, scale),
            f"highest learning rate that trains, per seed: {'/'.join(f'{c:g}' for c in c_bn)} with "
            f"batch norm vs {'/'.join(f'{c:g}' for c in c_none)} without; steps to "
            f"{100 * config.target_acc:.0f} % test accuracy at lr {lr0:g} "
            f"({config.steps + 1} = never): {fmt(steps('batchnorm'), 1.0, '.0f')} vs "
            f"{fmt(steps('none'), 1.0, '.0f')} {tail}"))  # fmt: skip

        # C27: batch norm vs none (gap) and vs dropout (held-out accuracy) at every usable lr
        lrs27, out27 = usable(("none", "batchnorm", "dropout"))
        data27 = {lr: {"train_plain": per_seed("none", lr, "train_acc"),
                       "test_plain": per_seed("none", lr, "test_acc"),
                       "train_bn": per_seed("batchnorm", lr, "train_acc"),
                       "test_bn": per_seed("batchnorm", lr, "test_acc"),
                       "test_dropout": per_seed("dropout", lr, "test_acc")} for lr in lrs27}  # fmt: skip
        at27 = rules.c27_parts(data27)
        c27 = rules.c27_batchnorm_regularizes_and_replaces_dropout(data27)
        clauses = [
            f"lr {lr:g}: batch norm's gap {fmt(gaps('batchnorm', lr))} vs {fmt(gaps('none', lr))} "
            f"points without (smaller: {says[at27[lr]['regularizes']]}), test accuracy "
            f"{fmt(data27[lr]['test_bn'])} % with BN alone vs {fmt(data27[lr]['test_dropout'])} % "
            f"with dropout alone (at least as good: {says[at27[lr]['replaces']]})"
            + ("; BN's gain over none comes with a larger gap: faster fitting, not less "
               "overfitting" if at27[lr]["gain_without_less_gap"] is True else "")
            for lr in lrs27
        ]  # fmt: skip
        lines.append(evidence.format_verdict(
            "C27", at_scale(c27, scale),
            ("; ".join(clauses) or "no learning rate") + f"{skipped(out27)} {tail}"))  # fmt: skip
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
