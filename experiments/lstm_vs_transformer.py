"""LSTM vs transformer: training throughput as sequences grow, and memory over long lags.

Part ``speed``: one LSTM layer and one transformer encoder layer (d_model 64, 4 heads,
feed-forward 256) with the LSTM's hidden size chosen so both have the same number of
parameters (≈50k). One training step (forward, a mean-square loss, backward, SGD update)
on a batch of ``tokens_per_batch`` tokens (batch = tokens / length) is timed with
``torch.utils.benchmark`` at each sequence length, for the ``scratch`` layers and for their
``torch.nn`` twins (on a GPU: ``nn.LSTM`` runs cuDNN, ``nn.TransformerEncoderLayer`` runs
``scaled_dot_product_attention``). Recorded: tokens per second and, on a GPU, peak memory.
A length that runs out of memory is recorded (``oom = 1``), not fatal.

Part ``adding``: the adding problem (Hochreiter & Schmidhuber, 1997). Each step of a
sequence of length ``lag`` carries a value ``U(0, 1)`` and a marker; two steps are marked,
one in each half, and the target is the sum of their values, read at the last step
(variance 1/6, so always predicting 1 scores MSE 0.167). RNN, LSTM, GRU (hidden 64) and a
two-layer transformer read at its last position get the same budget (steps, batch, Adam,
gradient clipping). Recorded: test MSE and accuracy (|error| < 0.04), seconds per step,
parameters, and ‖∂L/∂x_t‖ at the first over the last step, at init and after training.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch
from torch import nn

import scratch
from scratch import evidence
from scratch.data import adding_problem
from scratch.models import SequenceTransformer
from scratch.rules import sequences as rules
from scratch.utils import count_parameters, generator

from .common import new_figure, save_figure
from .runner import Context, Experiment, at_scale

BASELINE_MSE = 1 / 6  # variance of U(0,1) + U(0,1): the MSE of always answering 1


@dataclasses.dataclass(frozen=True)
class Config:
    """The protocol at one scale: the throughput part (``seq_lens``, ``tokens_per_batch``,
    transformer and matched-LSTM sizes) and the adding-problem part (``lags``, Adam steps,
    batch, learning rate, gradient ``clip``, recurrent ``hidden`` size, test set size).

    Examples::

        >>> from experiments.lstm_vs_transformer import CONFIGS
        >>> sorted(CONFIGS), CONFIGS["smoke"].seeds
        (['cpu', 'full', 'smoke'], (0,))
    """

    seq_lens: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096, 8192)
    tokens_per_batch: int = 16384
    d_model: int = 64
    nhead: int = 4
    dim_feedforward: int = 256
    min_run_time: float = 1.0
    lags: tuple[int, ...] = (25, 50, 100, 200, 400)
    adding_steps: int = 3000
    adding_batch: int = 64
    adding_lr: float = 1e-3
    clip: float = 1.0
    hidden: int = 64
    n_test: int = 1000
    seeds: tuple[int, ...] = (0, 1, 2)


CONFIGS = {
    "smoke": Config(
        seq_lens=(16, 32, 64, 128),
        tokens_per_batch=256,
        min_run_time=0.01,
        lags=(8, 16),
        adding_steps=4,
        adding_batch=16,
        n_test=64,
        seeds=(0,),
    ),
    # the protocol cut to fit a 2-core CPU in about 20 minutes: lengths up to 2,048,
    # lags up to 100, 800 training steps at a higher learning rate, one seed
    "cpu": Config(
        seq_lens=(64, 128, 256, 512, 1024, 2048),
        tokens_per_batch=4096,
        min_run_time=0.5,
        lags=(25, 50, 100),
        adding_steps=800,
        adding_lr=3e-3,
        seeds=(0,),
    ),
    "full": Config(),
}


# ------------------------------------------------------------------ speed


def lstm_hidden_for(params: int, d_model: int) -> int:
    """The LSTM hidden size whose parameter count, 4h(d + h) + 8h, is closest to ``params``."""
    return min(range(1, 4 * d_model + 1), key=lambda h: abs(4 * h * (d_model + h) + 8 * h - params))


def speed_model(impl: str, arch: str, config: Config) -> nn.Module:
    lib = scratch if impl == "scratch" else nn
    layer = lib.TransformerEncoderLayer(
        config.d_model, config.nhead, config.dim_feedforward, dropout=0.0, batch_first=True
    )
    if arch == "transformer":
        return layer
    hidden = lstm_hidden_for(count_parameters(layer), config.d_model)
    return lib.LSTM(config.d_model, hidden, batch_first=True)


def _speed(unit: dict, config: Config, ctx: Context) -> list[dict]:
    from torch.utils import benchmark

    dev, T = ctx.device, unit["size"]
    batch = max(1, config.tokens_per_batch // T)
    model = speed_model(unit["impl"], unit["model"], config).to(dev)
    params = count_parameters(model)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    rows = [
        {"metric": "params", "value": float(params)},
        {"metric": "batch", "value": float(batch)},
    ]
    try:
        x = torch.randn(batch, T, config.d_model, device=dev)

        def step():
            out = model(x)
            out = out[0] if isinstance(out, tuple) else out
            loss = out.pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()  # warm-up (cuDNN plans, allocator)
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(dev)
        timer = benchmark.Timer(
            stmt="step()", globals={"step": step}, num_threads=torch.get_num_threads()
        )
        m = timer.blocked_autorange(min_run_time=config.min_run_time)
        peak = torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else math.nan
        rows += [
            {"metric": "seconds_per_step", "value": float(m.median)},
            {"metric": "tokens_per_s", "value": batch * T / float(m.median)},
            {"metric": "peak_memory_bytes", "value": float(peak)},
            {"metric": "oom", "value": 0.0},
        ]
    except torch.OutOfMemoryError:
        import warnings

        warnings.warn(
            f"lstm_vs_transformer: out of memory at {unit['impl']} {unit['model']} "
            f"length {T}, batch {batch}; recorded as oom",
            RuntimeWarning,
            stacklevel=2,
        )
        rows += [{"metric": "oom", "value": 1.0}]
    finally:
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


# ------------------------------------------------------------------ adding problem


def adding_model(arch: str, lag: int, config: Config) -> nn.Module:
    if arch == "transformer":
        return SequenceTransformer(
            2,
            1,
            d_model=32,
            nhead=4,
            num_layers=2,
            dim_feedforward=64,
            max_len=max(lag, 16),
            pool="last",
        )
    return scratch.models.RNNClassifier(
        arch, input_size=2, hidden_size=config.hidden, num_classes=1
    )


def _input_grad_ratio(model: nn.Module, x, y) -> float:
    """‖∂L/∂x_1‖ / ‖∂L/∂x_T‖: how much of the loss's gradient reaches the first step."""
    x = x.clone().requires_grad_(True)
    loss = nn.functional.mse_loss(model(x), y)
    grad = torch.autograd.grad(loss, x)[0]  # (n, T, 2)
    per_step = grad.pow(2).sum(dim=(0, 2)).sqrt()  # (T,)
    return float(per_step[0] / per_step[-1].clamp_min(1e-30))


def _adding(unit: dict, config: Config, ctx: Context) -> list[dict]:
    dev, lag, seed = ctx.device, unit["size"], unit["seed"]
    g_test = generator(10_000 + lag)  # one test set per lag, any seed
    x_test, y_test = adding_problem(config.n_test, lag, g_test, dev)
    g = generator(seed)
    model = adding_model(unit["model"], lag, config).to(dev)
    ratio_init = _input_grad_ratio(model, x_test[:64], y_test[:64])
    opt = torch.optim.Adam(model.parameters(), lr=config.adding_lr)
    start = time.perf_counter()
    for _ in range(config.adding_steps):
        xb, yb = adding_problem(config.adding_batch, lag, g, dev)
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - start) / max(config.adding_steps, 1)
    model.eval()
    with torch.no_grad():
        pred = model(x_test)
    mse = float(nn.functional.mse_loss(pred, y_test))
    acc = float(((pred - y_test).abs() < 0.04).float().mean())
    model.train()
    return [
        {"metric": "params", "value": float(count_parameters(model))},
        {"metric": "test_mse", "value": mse if math.isfinite(mse) else math.nan},
        {"metric": "test_acc", "value": acc},
        {"metric": "seconds_per_step", "value": per_step},
        {"metric": "grad_ratio_init", "value": ratio_init},
        {
            "metric": "grad_ratio_trained",
            "value": _input_grad_ratio(model, x_test[:64], y_test[:64]),
        },
    ]


# ------------------------------------------------------------------ experiment


class LstmVsTransformer(Experiment):
    """The ``lstm_vs_transformer`` experiment (``python -m experiments lstm_vs_transformer``):
    LSTM vs transformer training throughput vs length; RNN/LSTM/GRU/transformer on the adding
    problem.

    Examples::

        >>> from experiments.lstm_vs_transformer import EXPERIMENT
        >>> EXPERIMENT.claims
        ('C10', 'C11', 'C12a', 'C12b', 'C12c', 'C14', 'C15b')
        >>> EXPERIMENT.key_columns
        ('part', 'impl', 'model', 'size', 'seed')
    """

    name = "lstm_vs_transformer"
    description = (
        "LSTM vs transformer training throughput vs length; "
        "RNN/LSTM/GRU/transformer on the adding problem"
    )
    claims = ("C10", "C11", "C12a", "C12b", "C12c", "C14", "C15b")
    columns = ("part", "impl", "model", "size", "seed", "metric", "value")
    key_columns = ("part", "impl", "model", "size", "seed")
    configs = CONFIGS
    deterministic = False  # timings: let torch choose its fastest kernels

    def units(self, config: Config, seeds) -> list[dict]:
        units = [
            {"part": "speed", "impl": impl, "model": arch, "size": T, "seed": seeds[0]}
            for T in config.seq_lens
            for impl in ("scratch", "torch")
            for arch in ("lstm", "transformer")
        ]
        units += [
            {"part": "adding", "impl": "scratch", "model": arch, "size": lag, "seed": s}
            for s in seeds
            for lag in config.lags
            for arch in ("rnn", "lstm", "gru", "transformer")
        ]
        return units

    def run_unit(self, unit: dict, config: Config, ctx: Context) -> list[dict]:
        if unit["part"] == "speed":
            return _speed(unit, config, ctx)
        return _adding(unit, config, ctx)

    # ------------------------------------------------------------------ verdicts

    @staticmethod
    def throughput(table):
        s = table[(table.part == "speed") & (table.metric == "tokens_per_s")]
        return s.pivot_table(index="size", columns=["impl", "model"], values="value")

    @staticmethod
    def crossover(tp, impl: str) -> float:
        """Shortest length from which the transformer is at least as fast as the LSTM at
        every longer length both ran (nan: never)."""
        if (impl, "lstm") not in tp or (impl, "transformer") not in tp:
            return math.nan
        both = tp[[(impl, "lstm"), (impl, "transformer")]].dropna()
        faster = both[(impl, "transformer")] >= both[(impl, "lstm")]
        cross = math.nan
        for T in sorted(both.index, reverse=True):
            if not faster[T]:
                break
            cross = T
        return float(cross)

    def verdicts(self, table, config: Config, scale: str) -> list[str]:
        """The verdicts of chapter 2's rules (:mod:`scratch.rules.sequences`) on this table:
        per-seed values go in as they are, so a table with fewer than three seeds is
        inconclusive. A smoke run only tests the code (not testable); a ``cpu`` run's
        budget is cut, so a claim it supports holds with a caveat."""
        c15b, speed_text = self._c15b_speed(table, scale)
        adding = _Adding(table, config, scale)
        return [
            evidence.format_verdict("C15b", at_scale(c15b, scale), speed_text + adding.c15b()),
            adding.c10(),
            adding.c11(),
            *adding.c12(),
            adding.c14(),
        ]

    def _c15b_speed(self, table, scale: str) -> tuple[str, str]:
        """C15b's verdict from the throughput part, and the text that reports it."""
        device = str(table.attrs.get("device", "unknown device"))
        tail = f"({scale} scale, {device})"
        tp = self.throughput(table)
        longest = max(tp.index)
        row = tp.loc[longest]
        parts = []
        for impl in ("torch", "scratch"):
            ratio = row.get((impl, "transformer"), math.nan) / row.get((impl, "lstm"), math.nan)
            cross = self.crossover(tp, impl)
            where = (
                f"no crossover up to length {longest}"
                if math.isnan(cross)
                else (f"transformer at least as fast from length {cross:g}")
            )
            parts.append(f"{impl}: {where}, transformer/LSTM tokens/s {ratio:.2g}x at {longest}")
        torch_ratio = row.get(("torch", "transformer"), math.nan) / row.get(
            ("torch", "lstm"), math.nan
        )
        # the claim rests on running all positions at once: only parallel hardware tests it
        parallel = device.startswith("cuda")
        c15b = rules.c15b_transformer_trains_faster_long(
            speed_ratio=torch_ratio, on_parallel_hardware=parallel
        )
        why = "" if parallel else "; a CPU run cannot test a claim about parallel hardware"
        return c15b, "; ".join(parts) + why + f" {tail}"

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        tp = self.throughput(table)
        fig, axes = new_figure(2, width=4.8)
        for impl, style in (("scratch", "--"), ("torch", "-")):
            for arch in ("lstm", "transformer"):
                if (impl, arch) in tp:
                    d = tp[(impl, arch)].dropna()
                    axes[0].plot(d.index, d.values, ls=style, marker="o", label=f"{arch} ({impl})")
        axes[0].set_xscale("log", base=2)
        axes[0].set_yscale("log")
        axes[0].set_xlabel("sequence length (tokens)")
        axes[0].set_ylabel("training throughput (tokens/s)")
        axes[0].set_title("Training step throughput, equal parameters")
        axes[0].legend(fontsize=8)
        a = table[(table.part == "adding") & (table.metric == "test_mse")]
        for arch in ("rnn", "lstm", "gru", "transformer"):
            d = a[a.model == arch].groupby("size")["value"].agg(["mean", "std"]).fillna(0)
            axes[1].errorbar(d.index, d["mean"], yerr=d["std"], marker="o", capsize=3, label=arch)
        axes[1].axhline(BASELINE_MSE, color="grey", ls=":", label="constant guess")
        axes[1].set_xscale("log", base=2)
        axes[1].set_yscale("log")
        axes[1].set_xlabel("lag (sequence length)")
        axes[1].set_ylabel("test MSE")
        axes[1].set_title("Adding problem, same training budget")
        axes[1].legend(fontsize=8)
        return [save_figure(fig, out_dir / "lstm_vs_transformer.png")]


# ------------------------------------------------------------------ verdicts
_show = evidence.fmt_seeds


def _lags_text(lags) -> str:
    return ", ".join(map(str, lags)) or "none"


class _Adding:
    """The adding-problem part of the table, per model, lag and seed, and the verdicts of
    the claims it decides (C10, C11, C12a-c, C14 and C15b's steps)."""

    def __init__(self, table, config: Config, scale: str) -> None:
        self.config, self.scale = config, scale
        self.a = table[table.part == "adding"]
        self.lags = sorted(int(v) for v in self.a["size"].unique())
        self.hi = self.lags[-1]
        self.n = len(sorted(self.a["seed"].unique()))
        self.few = evidence.too_few_seeds(self.n)
        self.tail = (
            f"(adding problem, {scale} scale, {config.adding_steps} steps, {self.n} seed(s))"
        )
        self.mse = {m: self.by_lag(m, "test_mse") for m in ("rnn", "lstm", "gru", "transformer")}
        self.acc = {m: self.by_lag(m, "test_acc") for m in ("lstm", "gru")}

    def values(self, model: str, lag: int, metric: str) -> list[float]:
        """One value per seed, in seed order."""
        a = self.a
        rows = a[(a.model == model) & (a["size"] == lag) & (a.metric == metric)]
        return rows.sort_values("seed")["value"].astype(float).tolist()

    def by_lag(self, model: str, metric: str) -> dict[int, list[float]]:
        return {lag: self.values(model, lag, metric) for lag in self.lags}

    def verdict(self, claim: str, status: str, text: str) -> str:
        return evidence.format_verdict(claim, at_scale(status, self.scale), text)

    def c10(self) -> str:
        lags, hi, mse, values = self.lags, self.hi, self.mse, self.values
        c10 = rules.c10_rnn_gradients_vanish_or_explode(
            values("rnn", hi, "grad_ratio_init"), rnn_mse=mse["rnn"][hi], baseline_mse=BASELINE_MSE
        )
        rnn_mse = _show(mse["rnn"][hi], ".3f")
        return self.verdict(
            "C10",
            c10,
            "at init the vanilla RNN's gradient at the first step is "
            + ", ".join(_show(values("rnn", lag, "grad_ratio_init"), ".1e") for lag in lags)
            + f" of that at the last for lags {', '.join(map(str, lags))} (LSTM "
            + ", ".join(_show(values("lstm", lag, "grad_ratio_init"), ".1e") for lag in lags)
            + "; 0 = below float32's range); after training RNN "
            f"{_show(values('rnn', hi, 'grad_ratio_trained'), '.1e')}, GRU "
            f"{_show(values('gru', hi, 'grad_ratio_trained'), '.1e')} at lag {hi}; RNN test MSE "
            f"{rnn_mse} vs {BASELINE_MSE:.3f} for a constant guess{self.few} {self.tail}",
        )

    def c11(self) -> str:
        mse = self.mse
        c11 = rules.c11_lstm_gates_keep_gradients(mse["lstm"], mse["rnn"], BASELINE_MSE)
        return self.verdict(
            "C11",
            c11,
            f"solved = test MSE below {rules.SOLVED * BASELINE_MSE:.3f}, failed = not below "
            f"{rules.FAILED * BASELINE_MSE:.3f}; MSE by lag (LSTM/RNN): "
            + ", ".join(
                f"{lag}: {_show(mse['lstm'][lag], '.3f')}/{_show(mse['rnn'][lag], '.3f')}"
                for lag in self.lags
            )
            + f"{self.few} {self.tail}",
        )

    def c12(self) -> list[str]:
        """C12a (parameters), C12b (time per step), C12c (accuracy): GRU vs LSTM."""
        hi, acc, values, few, tail = self.hi, self.acc, self.values, self.few, self.tail
        p_gru, p_lstm = values("gru", hi, "params")[0], values("lstm", hi, "params")[0]
        t_gru, t_lstm = (
            values("gru", hi, "seconds_per_step"),
            values("lstm", hi, "seconds_per_step"),
        )
        c12a = rules.c12a_gru_two_gates_fewer_parameters(p_gru, p_lstm)
        c12b = rules.c12b_gru_trains_faster(t_gru, t_lstm)
        c12c = rules.c12c_gru_about_as_well(acc["gru"], acc["lstm"])
        lags = self.lags
        words = [f"{lag}: {rules.gru_vs_lstm(acc['gru'][lag], acc['lstm'][lag])}" for lag in lags]
        by_lag = ", ".join(
            f"{lag}: {_show(acc['gru'][lag], '.0f', 100)}/{_show(acc['lstm'][lag], '.0f', 100)} %"
            for lag in lags
        )
        return [
            self.verdict(
                "C12a",
                c12a,
                f"counted: GRU {p_gru:,.0f} parameters vs LSTM {p_lstm:,.0f} at hidden size "
                f"{self.config.hidden} (ratio {p_gru / p_lstm:.2f}) {tail}",
            ),
            self.verdict(
                "C12b",
                c12b,
                f"seconds per training step at lag {hi} (GRU vs LSTM): "
                f"{_show(t_gru, '.1f', 1e3)} vs {_show(t_lstm, '.1f', 1e3)} ms{few} {tail}",
            ),
            self.verdict(
                "C12c",
                c12c,
                "accuracy (|error| < 0.04) by lag (GRU/LSTM): "
                + by_lag
                + f"; GRU vs LSTM, gap ± spread against {rules.ABOUT_AS_WELL * 100:.0f} points: "
                + f"{'; '.join(words)}{few} {tail}",
            ),
        ]

    def c14(self) -> str:
        mse = self.mse["transformer"]
        c14 = rules.c14_attention_one_step(transformer_mse=mse, baseline_mse=BASELINE_MSE)
        solved_below = rules.SOLVED * BASELINE_MSE
        return self.verdict(
            "C14",
            c14,
            "transformer test MSE by lag: "
            + ", ".join(f"{lag}: {_show(mse[lag], '.3f')}" for lag in self.lags)
            + f" (constant guess {BASELINE_MSE:.3f}, solved below {solved_below:.3f})"
            + f"{self.few} {self.tail}",
        )

    def c15b(self) -> str:
        """The adding problem's part of C15b's text: lags solved and failed per step."""
        mse, lags = self.mse, self.lags
        solved = [
            lag
            for lag in lags
            if all(m < rules.SOLVED * BASELINE_MSE for m in mse["transformer"][lag])
        ]
        failed = [
            lag
            for lag in lags
            if all(not m < rules.FAILED * BASELINE_MSE for m in mse["lstm"][lag])
        ]
        fewer = sorted(set(solved) & set(failed))
        steps_word = (
            f"the transformer needed fewer steps at lags {_lags_text(fewer)}, which is not a "
            "wall-clock speed-up"
            if fewer
            else "no lag separates them in steps"
        )
        return (
            f"; per training step, on the adding problem ({self.config.adding_steps} "
            f"steps, {self.n} seed(s)): lags the transformer solved on every seed "
            f"{_lags_text(solved)}, lags the LSTM failed on every seed {_lags_text(failed)}; "
            f"{steps_word}"
        )


EXPERIMENT = LstmVsTransformer()
