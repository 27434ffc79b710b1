"""Parity, gradients, initialization, state layout and bad inputs of the Transformer layers,
and the closed form and shift property of the sinusoidal positional encoding."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from scratch.activation import gelu
from tests.parity import assert_parity, assert_same_state_layout

ATOL = RTOL = 2e-4  # float32 through attention, two LayerNorms and a feed-forward net

NAMES = ["TransformerEncoderLayer", "TransformerDecoderLayer"]


def _randn(shape, seed: int, dtype=torch.float32, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def _pair(name: str, *args, seed: int = 0, **kwargs) -> tuple[nn.Module, nn.Module]:
    """(ours, theirs), each built right after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    theirs = getattr(nn, name)(*args, **kwargs)
    torch.manual_seed(seed)
    ours = getattr(scratch, name)(*args, **kwargs)
    return ours, theirs


def _randomize(m: nn.Module, seed: int) -> nn.Module:
    """Nonzero biases and non-unit LayerNorm gains, so parity tests where they enter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "bias" in name:
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
            elif name.startswith("norm"):
                p.copy_(1 + torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
    return m


def _ignore(shape, seed: int, p: float = 0.4) -> torch.Tensor:
    """Bool mask, True = ignore, never on key 0 (no fully masked row)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(shape, generator=g) < p
    mask[..., 0] = False
    return mask


def _mask(kind: str, shape, seed: int):
    """(mask, is_causal) for kind none / bool / float / causal; shape (L, S) or (N*H, L, S)."""
    if kind == "none":
        return None, False
    if kind == "causal":
        L, S = shape[-2:]
        return torch.ones(L, S, dtype=torch.bool).triu(1), True
    ignore = _ignore(shape, seed)
    if kind == "bool":
        return ignore, False
    return _randn(shape, seed + 1, scale=0.5).masked_fill(ignore, float("-inf")), False


def _padding(kind: str, shape, seed: int):
    if kind == "none":
        return None
    ignore = _ignore(shape, seed)
    if kind == "bool":
        return ignore
    return torch.zeros(shape).masked_fill(ignore, float("-inf"))


def _seq(T, n, e, unbatched, batch_first, seed):
    if unbatched:
        return _randn((T, e), seed)
    return _randn((n, T, e) if batch_first else (T, n, e), seed)


ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "callable": (gelu, F.gelu),  # a function of each library
    "module": (scratch.GELU(), nn.GELU()),
}


def _pair_layer(name, d_model, nhead, act, **kwargs):
    ours_act, their_act = ACTIVATIONS[act]
    seed = kwargs.pop("seed", 0)
    torch.manual_seed(seed)
    theirs = getattr(nn, name)(d_model, nhead, activation=their_act, **kwargs)
    torch.manual_seed(seed)
    ours = getattr(scratch, name)(d_model, nhead, activation=ours_act, **kwargs)
    return ours, theirs


# ============================================================================ encoder
@given(
    n=st.integers(1, 3),
    T=st.integers(1, 5),
    nhead=st.sampled_from([1, 2, 3]),
    head_dim=st.integers(1, 4),
    dim_ff=st.integers(1, 12),
    act=st.sampled_from(list(ACTIVATIONS)),
    eps=st.sampled_from([1e-5, 1e-2]),
    batch_first=st.booleans(),
    unbatched=st.booleans(),
    norm_first=st.booleans(),
    bias=st.booleans(),
    mask=st.sampled_from(["none", "bool", "float", "causal"]),
    mask_3d=st.booleans(),
    padding=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_encoder_parity(
    n,
    T,
    nhead,
    head_dim,
    dim_ff,
    act,
    eps,
    batch_first,
    unbatched,
    norm_first,
    bias,
    mask,
    mask_3d,
    padding,
    train,
    seed,
):
    d = nhead * head_dim
    ours, theirs = _pair_layer(
        "TransformerEncoderLayer",
        d,
        nhead,
        act,
        dim_feedforward=dim_ff,
        dropout=0.0,
        layer_norm_eps=eps,
        batch_first=batch_first,
        norm_first=norm_first,
        bias=bias,
        seed=seed,
    )
    _randomize(theirs, seed)
    nb = 1 if unbatched else n
    src_mask, is_causal = _mask(mask, (nb * nhead, T, T) if mask_3d else (T, T), seed + 2)
    kind = "float" if mask == "float" else "bool"  # torch warns on mixed mask types
    kpm = _padding(kind if padding else "none", (T,) if unbatched else (n, T), seed + 3)
    x = _seq(T, n, d, unbatched, batch_first, seed + 1)

    def call(m, x):
        return m(x, src_mask=src_mask, src_key_padding_mask=kpm, is_causal=is_causal)

    assert_parity(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL, call=call)


# ============================================================================ decoder
@given(
    n=st.integers(1, 3),
    T=st.integers(1, 5),
    S=st.integers(1, 5),
    nhead=st.sampled_from([1, 2, 3]),
    head_dim=st.integers(1, 4),
    dim_ff=st.integers(1, 12),
    act=st.sampled_from(list(ACTIVATIONS)),
    batch_first=st.booleans(),
    unbatched=st.booleans(),
    norm_first=st.booleans(),
    bias=st.booleans(),
    tgt_mask=st.sampled_from(["none", "bool", "float", "causal"]),
    memory_mask=st.sampled_from(["none", "mask", "3d"]),
    padding=st.sampled_from(["none", "tgt", "memory", "both"]),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_decoder_parity(
    n,
    T,
    S,
    nhead,
    head_dim,
    dim_ff,
    act,
    batch_first,
    unbatched,
    norm_first,
    bias,
    tgt_mask,
    memory_mask,
    padding,
    train,
    seed,
):
    d = nhead * head_dim
    ours, theirs = _pair_layer(
        "TransformerDecoderLayer",
        d,
        nhead,
        act,
        dim_feedforward=dim_ff,
        dropout=0.0,
        batch_first=batch_first,
        norm_first=norm_first,
        bias=bias,
        seed=seed,
    )
    _randomize(theirs, seed)
    nb = 1 if unbatched else n
    kind = "float" if tgt_mask == "float" else "bool"  # one mask type throughout
    t_mask, t_causal = _mask(tgt_mask, (T, T), seed + 2)
    m_kind = "none" if memory_mask == "none" else kind
    m_mask, _ = _mask(m_kind, (nb * nhead, T, S) if memory_mask == "3d" else (T, S), seed + 3)
    t_kpm = _padding(
        kind if padding in ("tgt", "both") else "none", (T,) if unbatched else (n, T), seed + 4
    )
    m_kpm = _padding(
        kind if padding in ("memory", "both") else "none", (S,) if unbatched else (n, S), seed + 5
    )
    tgt = _seq(T, n, d, unbatched, batch_first, seed + 1)
    memory = _seq(S, n, d, unbatched, batch_first, seed + 6)

    def call(m, tgt, memory):
        return m(
            tgt,
            memory,
            tgt_mask=t_mask,
            memory_mask=m_mask,
            tgt_key_padding_mask=t_kpm,
            memory_key_padding_mask=m_kpm,
            tgt_is_causal=t_causal,
        )

    assert_parity(ours, theirs, tgt, memory, train=train, atol=ATOL, rtol=RTOL, call=call)


# ================================================================ shared layer checks
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"activation": "gelu", "norm_first": True, "batch_first": True},
        {"bias": False, "dim_feedforward": 7},
        {"dtype": torch.float64, "layer_norm_eps": 1e-3},
    ],
)
def test_init_matches_torch_bit_for_bit(name, kwargs):
    ours, theirs = _pair(name, 8, 2, seed=5, **kwargs)
    so, st_ = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st_)
    for key in so:
        assert torch.equal(so[key], st_[key]), key
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "kwargs", [{}, {"bias": False}, {"norm_first": True, "dim_feedforward": 5}]
)
def test_state_dict_both_ways(name, kwargs):
    ours, theirs = _pair(name, 6, 3, **kwargs)
    assert_same_state_layout(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_dropout_eval_parity_and_train_noise(name, norm_first):
    ours, theirs = _pair(name, 8, 2, dim_feedforward=16, dropout=0.3, norm_first=norm_first)
    _randomize(theirs, 0)
    xs = [_randn((5, 3, 8), 1)] + ([_randn((4, 3, 8), 2)] if "Decoder" in name else [])
    assert_parity(ours, theirs, *xs, train=False, atol=ATOL, rtol=RTOL)
    ours.eval()
    clean = ours(*xs)
    ours.train()
    torch.manual_seed(0)
    a, b = ours(*xs), ours(*xs)
    assert not torch.allclose(a, clean, atol=1e-3) and not torch.allclose(a, b, atol=1e-3)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("mask", ["none", "bool", "padding"])
def test_encoder_matches_torch_fast_path(norm_first, mask, monkeypatch):
    """Eval, no grad, batch_first, even heads: torch runs its fused kernel; same numbers."""
    fused, calls = torch._transformer_encoder_layer_fwd, []

    def spy(*args):
        calls.append(1)
        return fused(*args)

    monkeypatch.setattr(torch, "_transformer_encoder_layer_fwd", spy)
    ours, theirs = _pair(
        "TransformerEncoderLayer", 8, 2, dim_feedforward=16, batch_first=True, norm_first=norm_first
    )
    _randomize(theirs, 0)
    ours.load_state_dict(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = _randn((3, 5, 8), 1)
    kw = {}
    if mask == "bool":
        kw["src_mask"] = _ignore((5, 5), 2)
    elif mask == "padding":
        kw["src_key_padding_mask"] = _ignore((3, 5), 3)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, **kw), theirs(x, **kw), atol=ATOL, rtol=RTOL)
    assert calls, "torch did not take its fast path"


def test_encoder_fully_padded_sequence():
    """A sequence that is all padding: torch's slow path gives finite numbers (attention 0),
    its inference fast path NaN. We give the slow path's numbers in both modes."""
    ours, theirs = _pair("TransformerEncoderLayer", 8, 2, dim_feedforward=16, batch_first=True)
    _randomize(theirs, 0)
    x = _randn((2, 4, 8), 1)
    kpm = torch.zeros(2, 4, dtype=torch.bool)
    kpm[1] = True
    call = lambda m, x: m(x, src_key_padding_mask=kpm)  # noqa: E731
    assert_parity(ours, theirs, x, train=False, atol=ATOL, rtol=RTOL, call=call)
    with torch.no_grad():
        fast = theirs(x, src_key_padding_mask=kpm)
        out = ours(x, src_key_padding_mask=kpm)
    assert fast[1].isnan().all() and out.isfinite().all()
    torch.testing.assert_close(out[0], fast[0], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_gradcheck_float64(norm_first):
    m = scratch.TransformerEncoderLayer(
        4,
        2,
        dim_feedforward=6,
        dropout=0.0,
        activation="gelu",
        norm_first=norm_first,
        dtype=torch.float64,
    )
    _randomize(m, 0)
    x = _randn((3, 2, 4), 1, torch.float64).requires_grad_()
    mask = torch.ones(3, 3, dtype=torch.bool).triu(1)
    kpm = _ignore((2, 3), 2)
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def fn(x, *ps):
        kw = {"src_mask": mask, "src_key_padding_mask": kpm}
        return torch.func.functional_call(m, dict(zip(names, ps, strict=True)), (x,), kw)

    assert torch.autograd.gradcheck(fn, (x, *params), fast_mode=True)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_gradcheck_float64(norm_first):
    m = scratch.TransformerDecoderLayer(
        4, 2, dim_feedforward=6, dropout=0.0, norm_first=norm_first, dtype=torch.float64
    )
    _randomize(m, 0)
    tgt = _randn((3, 2, 4), 1, torch.float64).requires_grad_()
    memory = _randn((4, 2, 4), 2, torch.float64).requires_grad_()
    t_mask = torch.ones(3, 3, dtype=torch.bool).triu(1)
    m_kpm = _ignore((2, 4), 3)
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def fn(tgt, memory, *ps):
        kw = {"tgt_mask": t_mask, "memory_key_padding_mask": m_kpm, "tgt_is_causal": True}
        return torch.func.functional_call(m, dict(zip(names, ps, strict=True)), (tgt, memory), kw)

    assert torch.autograd.gradcheck(fn, (tgt, memory, *params), fast_mode=True)


def test_activation_choices():
    assert scratch.TransformerEncoderLayer(4, 2).activation is scratch.activation.relu
    assert scratch.TransformerDecoderLayer(4, 2, activation="gelu").activation is gelu
    with pytest.raises(ValueError, match="TransformerEncoderLayer: expected activation 'relu'"):
        scratch.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(TypeError, match="TransformerDecoderLayer: expected activation"):
        scratch.TransformerDecoderLayer(4, 2, activation=3)


def test_defaults_match_torch():
    for name in NAMES:
        ours, theirs = _pair(name, 8, 2)
        assert ours.linear1.out_features == theirs.linear1.out_features == 2048
        assert ours.dropout.p == theirs.dropout.p == 0.1
        assert ours.norm1.eps == theirs.norm1.eps == 1e-5
        assert ours.self_attn.batch_first is theirs.self_attn.batch_first is False
        assert ours.norm_first is theirs.norm_first is False


_X = torch.ones(5, 2, 4)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((_X.long(),), {}, TypeError, "TransformerEncoderLayer: expected src to be a floating"),
        (
            (torch.ones(5, 2, 1, 4),),
            {},
            ValueError,
            "TransformerEncoderLayer: expected src of shape (T, N, d_model)",
        ),
        (
            (torch.ones(5, 2, 6),),
            {},
            ValueError,
            "TransformerEncoderLayer: expected src.shape[-1] = d_model = 4",
        ),
        (
            (_X,),
            {"src_mask": torch.zeros(5, 4, dtype=torch.bool)},
            ValueError,
            "TransformerEncoderLayer.self_attn: expected attn_mask of shape (L, S)",
        ),
        (
            (_X,),
            {"src_key_padding_mask": torch.zeros(5, 2, dtype=torch.bool)},
            ValueError,
            "TransformerEncoderLayer.self_attn: expected key_padding_mask of shape (N, S)",
        ),
        ((_X,), {"is_causal": True}, ValueError, "is_causal=True is a hint"),
    ],
)
def test_encoder_bad_inputs(args, kwargs, error, message):
    m = scratch.TransformerEncoderLayer(4, 2, dim_feedforward=8)
    with pytest.raises(error) as info:
        m(*args, **kwargs)
    assert message in str(info.value)


_M = torch.ones(3, 2, 4)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((_X.double(), _M), {}, TypeError, "dtype"),
        (
            (_X, _M.long()),
            {},
            TypeError,
            "TransformerDecoderLayer: expected memory to be a floating",
        ),
        (
            (_X, torch.ones(3, 2, 5)),
            {},
            ValueError,
            "TransformerDecoderLayer: expected memory.shape[-1] = d_model = 4",
        ),
        (
            (_X, torch.ones(3, 4)),
            {},
            ValueError,
            "TransformerDecoderLayer: expected memory 3-D like tgt",
        ),
        (
            (_X, torch.ones(3, 5, 4)),
            {},
            ValueError,
            "TransformerDecoderLayer.multihead_attn: expected query and key of the same batch size",
        ),
        (
            (_X, _M),
            {"memory_mask": torch.zeros(5, 5)},
            ValueError,
            "TransformerDecoderLayer.multihead_attn: expected attn_mask of shape (L, S) = (5, 3)",
        ),
        (
            (_X, _M),
            {"memory_key_padding_mask": torch.zeros(2, 3, dtype=torch.int32)},
            TypeError,
            "TransformerDecoderLayer.multihead_attn: expected key_padding_mask of dtype bool",
        ),
    ],
)
def test_decoder_bad_inputs(args, kwargs, error, message):
    m = scratch.TransformerDecoderLayer(4, 2, dim_feedforward=8)
    with pytest.raises(error) as info:
        m(*args, **kwargs)
    assert message in str(info.value)


def test_bad_construction():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        scratch.TransformerEncoderLayer(6, 4)
    with pytest.raises(ValueError, match="TransformerDecoderLayer: dropout must be in"):
        scratch.TransformerDecoderLayer(4, 2, dropout=1.5)


# ================================================================= PositionalEncoding
def test_positional_encoding_closed_form():
    d, max_len = 10, 60
    pe = scratch.PositionalEncoding(d, max_len).pe
    assert pe.shape == (max_len, d) and pe.dtype == torch.float32
    expected = torch.zeros(max_len, d, dtype=torch.float64)
    for pos in range(max_len):
        for i in range(0, d, 2):
            # PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)
            expected[pos, i] = math.sin(pos / 10000 ** (i / d))
            expected[pos, i + 1] = math.cos(pos / 10000 ** (i / d))
    torch.testing.assert_close(pe.double(), expected, atol=2e-5, rtol=0)
    assert (pe[0, 0::2] == 0).all() and (pe[0, 1::2] == 1).all()


def test_positional_encoding_odd_d_model():
    pe = scratch.PositionalEncoding(5, 20).pe
    full = scratch.PositionalEncoding(6, 20).pe
    # the first 5 columns of the d = 6 table use frequencies 10000^(-2i/6), not /5
    omega = torch.exp(torch.arange(0, 5, 2) * (-math.log(10000.0) / 5))
    pos = torch.arange(20.0)[:, None]
    torch.testing.assert_close(pe[:, 0::2], torch.sin(pos * omega))
    torch.testing.assert_close(pe[:, 1::2], torch.cos(pos * omega[:2]))
    assert full.shape == (20, 6)


@pytest.mark.parametrize("k", [1, 3, 17])
def test_positional_encoding_shift_is_a_fixed_rotation(k):
    """PE(p + k) = R_k PE(p) for every p, with R_k block-diagonal 2x2 rotations by k * omega_i."""
    d, max_len = 16, 200
    pe = scratch.PositionalEncoding(d, max_len).pe.double()
    omega = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    R = torch.zeros(d, d, dtype=torch.float64)
    for i, w in enumerate(omega.tolist()):
        c, s = math.cos(k * w), math.sin(k * w)
        # sin((p+k)w) = sin(pw) cos(kw) + cos(pw) sin(kw)
        # cos((p+k)w) = cos(pw) cos(kw) - sin(pw) sin(kw)
        R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, s], [-s, c]])
    torch.testing.assert_close(pe[k:], pe[:-k] @ R.T, atol=1e-4, rtol=0)
    # and the map is *one* linear map: least squares over all positions fits it exactly
    fit = torch.linalg.lstsq(pe[:-k], pe[k:]).solution.T
    torch.testing.assert_close(pe[:-k] @ fit.T, pe[k:], atol=1e-4, rtol=0)
    torch.testing.assert_close(R @ R.T, torch.eye(d, dtype=torch.float64))  # a rotation


@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
def test_positional_encoding_forward(layout):
    d = 6
    m = scratch.PositionalEncoding(d, max_len=10, batch_first=layout == "batch_first")
    shape = {"seq_first": (7, 3, d), "batch_first": (3, 7, d), "unbatched": (7, d)}[layout]
    x = _randn(shape, 0)
    y = m(x)
    pe = m.pe[:7]
    if layout == "seq_first":
        torch.testing.assert_close(y, x + pe[:, None])
    else:
        torch.testing.assert_close(y, x + pe)
    assert m(x.double()).dtype == torch.float64


def test_positional_encoding_buffer_is_not_persistent():
    m = scratch.PositionalEncoding(8, 16, dropout=0.2)
    assert "pe" in dict(m.named_buffers())
    assert m.state_dict() == {}
    m.load_state_dict({}, strict=True)
    assert repr(m) == (
        "PositionalEncoding(\n  d_model=8, max_len=16, batch_first=False\n"
        "  (dropout): Dropout(p=0.2, inplace=False)\n)"
    )


def test_positional_encoding_dropout():
    m = scratch.PositionalEncoding(8, 16, dropout=0.5)
    x = _randn((5, 2, 8), 0)
    m.eval()
    torch.testing.assert_close(m(x), x + m.pe[:5, None])
    m.train()
    y = m(x)
    assert ((y == 0) | torch.isclose(y, 2 * (x + m.pe[:5, None]))).all()
    assert (y == 0).any()


@pytest.mark.parametrize(
    "x, message",
    [
        (torch.ones(11, 2, 4), "sequence length <= max_len = 10, got 11"),
        (torch.ones(5, 2, 3), "input.shape[-1] = d_model = 4"),
        (torch.ones(5, 2, 1, 4), "(T, N, d_model) (3-D)"),
        (torch.ones(5, 4, dtype=torch.long), "floating-point"),
    ],
)
def test_positional_encoding_bad_inputs(x, message):
    m = scratch.PositionalEncoding(4, max_len=10)
    with pytest.raises((ValueError, TypeError), match="PositionalEncoding") as info:
        m(x)
    assert message in str(info.value)
