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
    """The protocol at one scale: Fashion-MNIST subset sizes, SGD steps, batch and momentum,
    the learning-rate sweep ``lrs``, the dropout probability, ``target_acc`` (C25's steps
    to target) and ``trains_acc`` (the test accuracy a run needs to count as training).

    Examples::

        >>> from experiments.dropout_vs_batchnorm import CONFIGS
        >>> sorted(CONFIGS), CONFIGS["smoke"].seeds
        (['cpu', 'full', 'smoke'], (0,))
    """

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
    ),
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
    ),
    "full": Config(),
}


class DropoutVsBatchnorm(Experiment):
    """The ``dropout_vs_batchnorm`` experiment (``python -m experiments dropout_vs_batchnorm``):
    none/dropout/BN/both small CNNs on Fashion-MNIST over a learning-rate sweep.

    Examples::

        >>> from experiments.dropout_vs_batchnorm import EXPERIMENT
        >>> EXPERIMENT.claims
        ('C23', 'C25', 'C27')
        >>> EXPERIMENT.key_columns
        ('variant', 'lr', 'seed')
    """

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
        points = train_classifier(
            net,
            data,
            steps=config.steps,
            batch_size=config.batch,
            optimizer=opt,
            device=ctx.device,
            seed=unit["seed"],
            eval_every=config.eval_every,
        )
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
            rows.append(
                {
                    "variant": v,
                    "lr": lr,
                    "seed": seed,
                    "test_acc": test_acc,
                    "train_acc": train_acc,
                    "gap": train_acc - test_acc,
                    "test_loss": test_loss,
                    "steps_to_target": float(hit.step.iloc[0]) if len(hit) else math.nan,
                    "trains": (not diverged) and test_acc >= config.trains_acc,
                    "final_step": final_step,
                }
            )
        return pd.DataFrame(rows)

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        """C23, C25 and C27, each decided by the rule chapter 3 uses (``scratch.rules``)
        from per-seed values; a ``cpu`` run's "holds" becomes "holds with a caveat", a
        smoke run decides nothing, and fewer than 3 seeds leave every claim inconclusive."""
        judge = _Judge(self.per_run(table, config), config, scale)
        return [judge.c23(), judge.c25(), judge.c27()]

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        runs = self.per_run(table, config)
        stats = (
            runs.groupby(["variant", "lr"])
            .agg(
                test=("test_acc", "mean"),
                test_sd=("test_acc", "std"),
                gap=("gap", "mean"),
                gap_sd=("gap", "std"),
            )
            .fillna(0.0)
        )
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


# ------------------------------------------------------------------ verdicts


def _fmt(values, scale_=100.0, spec=".1f") -> str:
    return evidence.fmt_seeds(values, spec, scale_)


_SAYS = {True: "yes", False: "no", None: "the seeds cannot tell"}


class _Judge:
    """The per-run table (:meth:`DropoutVsBatchnorm.per_run`) and the helpers that the
    verdicts of C23, C25 and C27 share."""

    def __init__(self, runs, config: Config, scale: str) -> None:
        self.runs, self.config, self.scale = runs, config, scale
        n_seeds = runs.seed.nunique()
        why = "" if scale == "smoke" else evidence.too_few_seeds(n_seeds)
        self.tail = (
            f"({scale} scale, {config.steps} steps, {config.n_train} training images, "
            f"{n_seeds} seed(s){why})"
        )
        self.mean = runs.groupby(["variant", "lr"]).agg(
            test_acc=("test_acc", "mean"), trains=("trains", "all")
        )

    def per_seed(self, variant, lr, key) -> list[float]:
        runs = self.runs
        sub = runs[(runs.variant == variant) & (runs.lr == lr)].sort_values("seed")
        return [float(v) for v in sub[key]]

    def gaps(self, variant, lr) -> list[float]:
        return self.per_seed(variant, lr, "gap")

    def best_lr(self, variant) -> float:
        sub = self.mean.loc[variant]
        sub = sub[sub.trains] if sub.trains.any() else sub
        return float(sub.test_acc.idxmax())

    # C23 and C27 are judged at every learning rate of the sweep at which every seed
    # of every variant compared trains (a diverged run says nothing about overfitting)
    def usable(self, variants) -> tuple[list[float], list[float]]:
        mean, lrs = self.mean, self.config.lrs
        ok = [
            lr
            for lr in lrs
            if all(bool(mean.loc[(v, lr), "trains"]) for v in variants if (v, lr) in mean.index)
            and all((v, lr) in mean.index for v in variants)
        ]
        return ok, [lr for lr in lrs if lr not in ok]

    @staticmethod
    def skipped(lrs) -> str:
        if not lrs:
            return ""
        listed = ", ".join(f"{lr:g}" for lr in lrs)
        return f"; not judged at lr {listed} (a variant does not train on every seed)"

    def c23(self) -> str:
        """C23: dropout vs none at every usable learning rate."""
        lrs23, out23 = self.usable(("none", "dropout"))
        data23 = {
            lr: {
                "train_none": self.per_seed("none", lr, "train_acc"),
                "test_none": self.per_seed("none", lr, "test_acc"),
                "train_dropout": self.per_seed("dropout", lr, "train_acc"),
                "test_dropout": self.per_seed("dropout", lr, "test_acc"),
            }
            for lr in lrs23
        }
        at23 = rules.c23_by_lr(data23)
        word23 = {
            True: "less overfitting",
            False: "not less overfitting",
            None: "the seeds cannot tell",
        }
        c23 = rules.c23_dropout_reduces_overfitting(data23)
        clauses = []
        for lr in lrs23:
            d = data23[lr]
            clauses.append(
                f"lr {lr:g}: gap {_fmt(self.gaps('none', lr))} -> "
                f"{_fmt(self.gaps('dropout', lr))} points, "
                f"train accuracy {_fmt(d['train_none'])} -> {_fmt(d['train_dropout'])}, "
                f"test accuracy {_fmt(d['test_none'])} -> {_fmt(d['test_dropout'])} % "
                f"({word23[at23[lr]]})"
            )
        n_less = sum(v is True for v in at23.values())
        return evidence.format_verdict(
            "C23",
            at_scale(c23, self.scale),
            f"dropout p={self.config.dropout} vs none, "
            + ("; ".join(clauses) or "no learning rate")
            + f"; less overfitting at {n_less} of {len(lrs23)} "
            f"learning rates{self.skipped(out23)} {self.tail}",
        )

    def c25(self) -> str:
        """C25: per-seed learning-rate ceilings, and steps to the target at lr0, the
        learning rate where "none" does best."""
        runs, config = self.runs, self.config
        lr0 = self.best_lr("none")

        def ceilings(variant) -> list[float]:
            ok = runs[(runs.variant == variant) & runs.trains]
            return [
                float(ok[ok.seed == s].lr.max()) if (ok.seed == s).any() else 0.0
                for s in sorted(runs.seed.unique())
            ]

        def steps(variant) -> list[float]:  # never reached: the budget + 1
            return [
                config.steps + 1 if math.isnan(v) else v
                for v in self.per_seed(variant, lr0, "steps_to_target")
            ]

        c_bn, c_none = ceilings("batchnorm"), ceilings("none")
        c25 = rules.c25_batchnorm_higher_lr_faster(c_bn, c_none, steps("batchnorm"), steps("none"))
        bn_text, none_text = "/".join(f"{c:g}" for c in c_bn), "/".join(f"{c:g}" for c in c_none)
        return evidence.format_verdict(
            "C25",
            at_scale(c25, self.scale),
            f"highest learning rate that trains, per seed: {bn_text} with "
            f"batch norm vs {none_text} without; steps to "
            f"{100 * config.target_acc:.0f} % test accuracy at lr {lr0:g} "
            f"({config.steps + 1} = never): {_fmt(steps('batchnorm'), 1.0, '.0f')} vs "
            f"{_fmt(steps('none'), 1.0, '.0f')} {self.tail}",
        )

    def c27(self) -> str:
        """C27: batch norm vs none (gap) and vs dropout (held-out accuracy) at every
        usable learning rate."""
        lrs27, out27 = self.usable(("none", "batchnorm", "dropout"))
        data27 = {
            lr: {
                "train_plain": self.per_seed("none", lr, "train_acc"),
                "test_plain": self.per_seed("none", lr, "test_acc"),
                "train_bn": self.per_seed("batchnorm", lr, "train_acc"),
                "test_bn": self.per_seed("batchnorm", lr, "test_acc"),
                "test_dropout": self.per_seed("dropout", lr, "test_acc"),
            }
            for lr in lrs27
        }
        at27 = rules.c27_parts(data27)
        c27 = rules.c27_batchnorm_regularizes_and_replaces_dropout(data27)
        clauses = [self._c27_clause(lr, data27[lr], at27[lr]) for lr in lrs27]
        return evidence.format_verdict(
            "C27",
            at_scale(c27, self.scale),
            ("; ".join(clauses) or "no learning rate") + f"{self.skipped(out27)} {self.tail}",
        )

    def _c27_clause(self, lr, data, at) -> str:
        bn_gap, none_gap = _fmt(self.gaps("batchnorm", lr)), _fmt(self.gaps("none", lr))
        clause = (
            f"lr {lr:g}: batch norm's gap {bn_gap} vs {none_gap} "
            f"points without (smaller: {_SAYS[at['regularizes']]}), test accuracy "
            f"{_fmt(data['test_bn'])} % with BN alone vs {_fmt(data['test_dropout'])} % "
            f"with dropout alone (at least as good: {_SAYS[at['replaces']]})"
        )
        if at["gain_without_less_gap"] is True:
            clause += (
                "; BN's gain over none comes with a larger gap: faster fitting, not less "
                "overfitting"
            )
        return clause


EXPERIMENT = DropoutVsBatchnorm()
