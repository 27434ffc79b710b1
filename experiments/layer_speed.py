"""Benchmark (no claims): forward + backward time of every ``scratch`` layer against its
``torch.nn`` twin, at realistic sizes, with ``torch.utils.benchmark``.

Both layers hold the same weights (torch's ``state_dict`` loaded into ours) and see the
same input; one timed call is ``out = layer(*inputs)``, ``out.sum().backward()``. The CSV
records the median and interquartile range per implementation, the device, the torch
version and ``ratio`` = scratch median / torch median. The ``scaled_dot_product_attention``
function and ``PositionalEncoding`` (no ``torch.nn`` twin) are left out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

import scratch

from .common import new_figure, save_figure
from .provenance import device_name
from .runner import Context, Experiment


@dataclasses.dataclass(frozen=True)
class Config:
    """The benchmark at one scale: ``small`` inputs, the ``min_run_time`` of each
    ``torch.utils.benchmark`` timing, and the ``layers`` to time (empty: all).

    Examples::

        >>> from experiments.layer_speed import CONFIGS
        >>> sorted(CONFIGS), CONFIGS["smoke"].seeds
        (['full', 'smoke'], (0,))
    """

    small: bool = False
    min_run_time: float = 1.0
    layers: tuple[str, ...] = ()  # empty: all
    seeds: tuple[int, ...] = (0,)


CONFIGS = {
    "smoke": Config(
        small=True,
        min_run_time=0.005,
        layers=(
            "Linear",
            "ReLU",
            "Conv2d",
            "MaxPool2d",
            "LSTM",
            "BatchNorm2d",
            "LayerNorm",
            "MultiheadAttention",
        ),
    ),
    "full": Config(),
}


def specs(small: bool) -> dict[str, tuple[tuple, dict, list]]:
    """layer name -> (constructor args, constructor kwargs, input shapes or ('long', shape))."""
    if small:
        B, C, H, F, T, E = 2, 4, 8, 32, 8, 16
    else:
        B, C, H, F, T, E = 32, 64, 32, 1024, 128, 256
    img, seq1, vec = (B, C, H, H), (B, C, 4 * H), (8 * B, F)
    return {
        "Linear": ((F, F), {}, [vec]),
        "Flatten": ((), {}, [img]),
        "ReLU": ((), {}, [vec]),
        "GELU": ((), {}, [vec]),
        "Sigmoid": ((), {}, [vec]),
        "Tanh": ((), {}, [vec]),
        "Softmax": ((), {"dim": -1}, [vec]),
        "Conv1d": ((C, C, 3), {"padding": 1}, [seq1]),
        "Conv2d": ((C, C, 3), {"padding": 1}, [img]),
        "MaxPool1d": ((2,), {}, [seq1]),
        "MaxPool2d": ((2,), {}, [img]),
        "AvgPool1d": ((2,), {}, [seq1]),
        "AvgPool2d": ((2,), {}, [img]),
        "AdaptiveAvgPool2d": ((1,), {}, [img]),
        "AdaptiveMaxPool2d": ((1,), {}, [img]),
        "Embedding": ((10 * F, E), {}, [("long", (B, T), 10 * F)]),
        "RNN": ((E // 2, E // 2), {"batch_first": True}, [(B, T, E // 2)]),
        "LSTM": ((E // 2, E // 2), {"batch_first": True}, [(B, T, E // 2)]),
        "GRU": ((E // 2, E // 2), {"batch_first": True}, [(B, T, E // 2)]),
        "MultiheadAttention": ((E, 4), {"batch_first": True}, [(B, T, E)] * 3),
        "TransformerEncoderLayer": (
            (E, 4, 4 * E),
            {"dropout": 0.0, "batch_first": True},
            [(B, T, E)],
        ),
        "TransformerDecoderLayer": (
            (E, 4, 4 * E),
            {"dropout": 0.0, "batch_first": True},
            [(B, T, E), (B, T, E)],
        ),
        "Dropout": ((0.5,), {}, [vec]),
        "BatchNorm1d": ((F,), {}, [vec]),
        "BatchNorm2d": ((C,), {}, [img]),
        "LayerNorm": ((E,), {}, [(B, T, E)]),
        "GroupNorm": ((4, C), {}, [img]),
        "InstanceNorm2d": ((C,), {"affine": True}, [img]),
    }


def _inputs(shapes, device) -> list[torch.Tensor]:
    out = []
    for s in shapes:
        if s[0] == "long":
            out.append(torch.randint(0, s[2], s[1], device=device))
        else:
            out.append(torch.randn(s, device=device, requires_grad=True))
    return out


def time_layer(layer: nn.Module, inputs, min_run_time: float, device):
    from torch.utils import benchmark

    def step():
        for x in inputs:
            x.grad = None
        layer.zero_grad(set_to_none=True)
        out = layer(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    timer = benchmark.Timer(
        stmt="step()", globals={"step": step}, num_threads=torch.get_num_threads()
    )
    return timer.blocked_autorange(min_run_time=min_run_time)


class LayerSpeed(Experiment):
    """The ``layer_speed`` experiment (``python -m experiments layer_speed``): benchmark:
    scratch vs torch.nn forward+backward time per layer.

    Examples::

        >>> from experiments.layer_speed import EXPERIMENT
        >>> EXPERIMENT.claims
        ()
        >>> EXPERIMENT.key_columns
        ('layer', 'seed')
    """

    name = "layer_speed"
    description = "benchmark: scratch vs torch.nn forward+backward time per layer"
    claims = ()
    columns = ("layer", "impl", "input_shape", "device", "torch_version", "seed", "metric", "value")
    key_columns = ("layer", "seed")
    configs = CONFIGS
    deterministic = False

    def units(self, config: Config, seeds) -> list[dict]:
        names = config.layers or tuple(specs(config.small))
        return [{"layer": n, "seed": seeds[0]} for n in names]

    def run_unit(self, unit: dict, config: Config, ctx: Context) -> list[dict]:
        args, kwargs, shapes = specs(config.small)[unit["layer"]]
        dev = ctx.device
        theirs = getattr(nn, unit["layer"])(*args, **kwargs).to(dev)
        ours = getattr(scratch, unit["layer"])(*args, **kwargs).to(dev)
        ours.load_state_dict(theirs.state_dict())
        inputs = _inputs(shapes, dev)
        shape = "; ".join("x".join(map(str, s[1] if s[0] == "long" else s)) for s in shapes)
        common = {
            "input_shape": shape,
            "device": device_name(dev),
            "torch_version": torch.__version__,
        }
        rows, medians = [], {}
        for impl, layer in (("scratch", ours), ("torch", theirs)):
            m = time_layer(layer, inputs, config.min_run_time, dev)
            medians[impl] = float(m.median)
            rows += [
                {**common, "impl": impl, "metric": "median_s", "value": float(m.median)},
                {**common, "impl": impl, "metric": "iqr_s", "value": float(m.iqr)},
                {
                    **common,
                    "impl": impl,
                    "metric": "runs",
                    "value": float(len(m.times) * m.number_per_run),
                },
            ]
        rows.append(
            {
                **common,
                "impl": "ratio",
                "metric": "scratch_over_torch",
                "value": medians["scratch"] / medians["torch"],
            }
        )
        return rows

    def figures(self, table, config: Config, out_dir: Path) -> list[Path]:
        r = table[table.metric == "scratch_over_torch"].sort_values("value")
        fig, (ax,) = new_figure(1, width=6.0, height=max(2.5, 0.28 * len(r) + 1))
        ax.barh(r.layer, r.value)
        ax.axvline(1.0, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("scratch time / torch.nn time (forward + backward)")
        ax.set_ylabel("layer")
        device = r.device.iloc[0] if len(r) else ""
        ax.set_title(f"From-scratch layers vs torch.nn on {device}")
        return [save_figure(fig, out_dir / "layer_speed.png")]


EXPERIMENT = LayerSpeed()
