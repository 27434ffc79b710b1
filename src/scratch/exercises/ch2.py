"""Chapter 2's checks: one step of an Elman RNN cell and scaled dot-product attention."""

from __future__ import annotations

import torch

from scratch.exercises import call, exercise, expect_close


@exercise("rnn_cell_step")
def _rnn_cell_step(fn) -> str:
    g = torch.Generator().manual_seed(2)
    # (batch or None for one unbatched vector, input size, hidden size, with biases)
    cases = [(4, 3, 5, True), (1, 2, 6, True), (3, 4, 2, False), (None, 3, 4, True)]
    for batch, input_size, hidden_size, with_bias in cases:
        cell = torch.nn.RNNCell(input_size, hidden_size, bias=with_bias)
        with torch.no_grad():
            for p in cell.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
        lead = () if batch is None else (batch,)
        x = torch.randn(*lead, input_size, generator=g)
        h = torch.randn(*lead, hidden_size, generator=g)
        with torch.no_grad():
            want = cell(x, h)
        got = call(fn, x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        expect_close(
            got,
            want,
            f"x of shape {tuple(x.shape)}, h of shape {tuple(h.shape)}, biases={with_bias}",
        )
    return (
        "Matches torch.nn.RNNCell on 4 inputs "
        "(batch 4, batch 1, without biases, one unbatched vector)."
    )


@exercise("scaled_attention")
def _scaled_attention(fn) -> str:
    g = torch.Generator().manual_seed(2)
    # (leading axes, queries L, keys S, d_k, d_v, causal)
    cases = [
        ((2,), 5, 5, 4, 4, False),
        ((2,), 5, 5, 4, 4, True),
        ((2, 3), 6, 9, 8, 5, False),
        ((1, 4), 7, 7, 16, 3, True),
        ((1,), 1, 1, 2, 2, True),
    ]
    for lead, n_q, n_k, d_k, d_v, causal in cases:
        q = torch.randn(*lead, n_q, d_k, generator=g)
        k = torch.randn(*lead, n_k, d_k, generator=g)
        v = torch.randn(*lead, n_k, d_v, generator=g)
        want = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        got = call(fn, q, k, v, causal=causal)
        expect_close(
            got,
            want,
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}, causal={causal}",
        )
    return (
        "Matches torch.nn.functional.scaled_dot_product_attention on 5 inputs "
        "(with and without the causal mask, several heads, fewer queries than keys, one position)."
    )
