"""Chapter 7's checks: a small CNN's parameter count and a convolution's multiply-adds."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from scratch.exercises import call, exercise, expect_equal


def _small_cnn(
    side: int, in_channels: int, filters: list[int], hidden: int, num_classes: int
) -> nn.Module:
    """(3x3 conv -> ReLU -> 2x2 max pool) per entry of ``filters``, flatten, two dense layers."""
    with torch.device("meta"):  # shapes and counts only, no memory
        layers: list[nn.Module] = []
        channels = in_channels
        for f in filters:
            layers += [nn.Conv2d(channels, f, 3), nn.ReLU(), nn.MaxPool2d(2)]
            channels = f
        features = nn.Sequential(*layers, nn.Flatten())
        n_features = features(torch.empty(1, in_channels, side, side)).shape[1]
        head = [nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
    return nn.Sequential(features, *head)


@exercise("cnn_parameter_count")
def _cnn_parameter_count(fn) -> str:
    # (side, in_channels, filters, hidden, num_classes)
    cases = [
        (28, 1, [32, 64], 128, 10),
        (28, 1, [8, 16], 128, 10),
        (32, 3, [16, 32, 64], 256, 100),
        (29, 1, [4], 32, 2),
        (64, 3, [8, 8, 8, 8], 16, 5),
    ]
    for side, in_channels, filters, hidden, num_classes in cases:
        model = _small_cnn(side, in_channels, filters, hidden, num_classes)
        want = sum(p.numel() for p in model.parameters())
        got = call(fn, side, in_channels, list(filters), hidden, num_classes)
        expect_equal(
            got,
            want,
            f"side={side}, in_channels={in_channels}, filters={filters}, hidden={hidden}, "
            f"num_classes={num_classes}",
        )
    return (
        f"Equals the parameter count of the torch.nn model for "
        f"{len(cases)} layouts (odd sides included)."
    )


@exercise("conv2d_macs")
def _conv2d_macs(fn) -> str:
    # (side, in_channels, out_channels, kernel_size, stride, padding)
    cases = [
        (28, 1, 32, 3, 1, 0),
        (13, 32, 64, 3, 1, 0),
        (32, 3, 16, 5, 2, 2),
        (9, 3, 8, 3, 2, 1),
        (224, 3, 64, 7, 2, 3),
        (10, 16, 4, 1, 1, 0),
    ]
    for side, c_in, c_out, k, stride, padding in cases:
        with torch.device("meta"):
            layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding)
            x = torch.empty(1, c_in, side, side)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            layer(x)
        want = counter.get_total_flops() // 2  # one multiply and one add per multiply-add
        got = call(fn, side, c_in, c_out, k, stride, padding)
        expect_equal(
            got,
            want,
            f"side={side}, in_channels={c_in}, out_channels={c_out}, kernel_size={k}, "
            f"stride={stride}, padding={padding}",
        )
    return (
        f"Equals half the FLOPs torch.utils.flop_counter.FlopCounterMode counts for {len(cases)} "
        "convolutions (stride 2, padding, a 1x1 kernel)."
    )
