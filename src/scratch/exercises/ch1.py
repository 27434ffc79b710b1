"""Chapter 1's checks: a convolution's output length and a 2-D convolution's forward pass."""

from __future__ import annotations

import torch

from scratch.exercises import call, exercise, expect_close, expect_equal


@exercise("conv_output_length")
def _conv_output_length(fn) -> str:
    # (length, kernel_size, stride, padding, dilation): the plain case, "same" padding, strides
    # whose division rounds down, dilated kernels, a kernel as long as the padded input
    cases = [
        (28, 3, 1, 0, 1),
        (28, 3, 1, 1, 1),
        (28, 3, 2, 1, 1),
        (28, 3, 3, 0, 1),
        (64, 5, 2, 2, 1),
        (32, 3, 1, 0, 3),
        (28, 3, 1, 2, 2),
        (10, 4, 3, 1, 1),
        (7, 7, 1, 0, 1),
        (1, 3, 1, 1, 1),
        (9, 2, 2, 0, 2),
        (100, 5, 4, 3, 3),
    ]
    for length, k, s, p, d in cases:
        x = torch.zeros(1, 1, length)
        weight = torch.zeros(1, 1, k)
        want = torch.nn.functional.conv1d(x, weight, stride=s, padding=p, dilation=d).shape[-1]
        got = call(fn, length, k, s, p, d)
        expect_equal(
            got, want, f"length={length}, kernel_size={k}, stride={s}, padding={p}, dilation={d}"
        )
    return f"Equals the length torch.nn.functional.conv1d returns in {len(cases)} settings."


@exercise("conv2d_forward")
def _conv2d_forward(fn) -> str:
    g = torch.Generator().manual_seed(1)
    # (x shape, out_channels, kernel (kH, kW), stride, padding, dilation, bias)
    cases = [
        ((1, 1, 7, 7), 1, (3, 3), 1, 0, 1, False),
        ((2, 3, 9, 11), 4, (3, 3), 2, 1, 1, True),
        ((1, 2, 10, 8), 5, (2, 3), 1, 0, 1, True),
        ((2, 4, 15, 17), 6, (3, 3), 2, 1, 2, True),
        ((3, 2, 12, 12), 3, (5, 5), 3, 2, 1, False),
    ]
    for x_shape, c_out, kernel, stride, padding, dilation, with_bias in cases:
        x = torch.randn(x_shape, generator=g)
        weight = torch.randn(c_out, x_shape[1], *kernel, generator=g)
        bias = torch.randn(c_out, generator=g) if with_bias else None
        want = torch.nn.functional.conv2d(
            x, weight, bias, stride=stride, padding=padding, dilation=dilation
        )
        got = call(fn, x, weight, bias, stride=stride, padding=padding, dilation=dilation)
        expect_close(
            got,
            want,
            f"x of shape {x_shape}, weight {tuple(weight.shape)}, stride={stride}, "
            f"padding={padding}, dilation={dilation}, bias={with_bias}",
        )
    return (
        f"Matches torch.nn.functional.conv2d on {len(cases)} inputs (batch 1, stride 2 and 3, "
        "padding, dilation 2, a 2x3 kernel, without bias)."
    )
