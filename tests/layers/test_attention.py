"""Parity, gradients, initialization, state layout, masks and bad inputs of the attention
function and MultiheadAttention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from scratch.attention import attention_weights
from tests.parity import assert_parity, assert_same_state_layout

ATOL = RTOL = 1e-4  # float32: the two sides sum the same products in different orders


def _randn(shape, seed: int, dtype=torch.float32, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def _ignore(shape, seed: int, p: float = 0.4) -> torch.Tensor:
    """A bool mask, True = ignore (MHA's convention), never on key 0: no row is fully masked."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(shape, generator=g) < p
    mask[..., 0] = False
    return mask


def _as_float(ignore: torch.Tensor, seed: int, dtype=torch.float32) -> torch.Tensor:
    """The float mask with -inf where ``ignore`` and small finite offsets elsewhere."""
    return _randn(ignore.shape, seed, dtype, 0.5).masked_fill(ignore, float("-inf"))


class _Fn(nn.Module):
    """Wrap an attention function as a (parameter-free) module for ``assert_parity``."""

    def __init__(self, fn, **kwargs) -> None:
        super().__init__()
        self.fn, self.kwargs = fn, kwargs

    def forward(self, *xs):
        return self.fn(*xs, **self.kwargs)


# ====================================================================== the function
@given(
    batch=st.sampled_from([(), (2,), (2, 3)]),
    L=st.integers(1, 5),
    S=st.integers(1, 5),
    E=st.integers(1, 6),
    Ev=st.integers(1, 4),
    mask=st.sampled_from(["none", "bool", "float", "causal"]),
    mask_full=st.booleans(),
    scale=st.sampled_from([None, 0.3, 2.0]),
    seed=st.integers(0, 2**16),
)
def test_sdpa_parity(batch, L, S, E, Ev, mask, mask_full, scale, seed):
    q = _randn((*batch, L, E), seed, scale=1.5)
    k = _randn((*batch, S, E), seed + 1, scale=1.5)
    v = _randn((*batch, S, Ev), seed + 2)
    kw = {"scale": scale}
    mask_shape = (*batch, L, S) if mask_full else (L, S)
    if mask == "bool":
        kw["attn_mask"] = ~_ignore(mask_shape, seed + 3)  # SDPA: True = may attend
    elif mask == "float":
        kw["attn_mask"] = _as_float(_ignore(mask_shape, seed + 3), seed + 4)
    elif mask == "causal":
        kw["is_causal"] = True
    ours = _Fn(scratch.scaled_dot_product_attention, **kw)
    theirs = _Fn(F.scaled_dot_product_attention, **kw)
    assert_parity(ours, theirs, q, k, v, atol=ATOL, rtol=RTOL)


@given(
    hkv=st.sampled_from([1, 2]),
    group=st.sampled_from([1, 2, 3]),
    L=st.integers(1, 4),
    S=st.integers(1, 4),
    causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sdpa_grouped_query_parity(hkv, group, L, S, causal, seed):
    q = _randn((2, hkv * group, L, 4), seed)
    k = _randn((2, hkv, S, 4), seed + 1)
    v = _randn((2, hkv, S, 3), seed + 2)
    kw = {"enable_gqa": True, "is_causal": causal}
    ours = _Fn(scratch.scaled_dot_product_attention, **kw)
    theirs = _Fn(F.scaled_dot_product_attention, **kw)
    assert_parity(ours, theirs, q, k, v, atol=ATOL, rtol=RTOL)


def test_sdpa_is_softmax_of_scaled_scores_times_values():
    q, k, v = _randn((3, 4, 5), 0), _randn((3, 6, 5), 1), _randn((3, 6, 2), 2)
    a = attention_weights(q, k)
    expected = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(5), dim=-1)
    torch.testing.assert_close(a, expected)
    torch.testing.assert_close(a.sum(-1), torch.ones(3, 4))
    torch.testing.assert_close(scratch.scaled_dot_product_attention(q, k, v), a @ v)
    # causal: query i puts no weight on keys j > i
    a = attention_weights(q, k, is_causal=True)
    assert (a.triu(diagonal=1) == 0).all()
    torch.testing.assert_close(a.sum(-1), torch.ones(3, 4))


def test_sdpa_fully_masked_row_is_zero_like_torch():
    """A query that may attend nowhere: torch's SDPA returns 0 (and gradient 0), so do we."""
    q = _randn((2, 3, 4), 0, torch.float64)
    k, v = _randn((2, 5, 4), 1, torch.float64), _randn((2, 5, 4), 2, torch.float64)
    allowed = torch.ones(3, 5, dtype=torch.bool)
    allowed[1] = False  # query 1 sees nothing
    float_mask = torch.zeros(3, 5, dtype=torch.float64).masked_fill(~allowed, float("-inf"))
    for mask in (allowed, float_mask):
        ours = _Fn(scratch.scaled_dot_product_attention, attn_mask=mask)
        theirs = _Fn(F.scaled_dot_product_attention, attn_mask=mask)
        assert_parity(ours, theirs, q, k, v)
        out = scratch.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert (out[:, 1] == 0).all() and out.isfinite().all()
        assert (attention_weights(q, k, attn_mask=mask)[:, 1] == 0).all()


def test_sdpa_dropout_applies_whenever_p_positive():
    q, k, v = _randn((2, 6, 4), 0), _randn((2, 7, 4), 1), _randn((2, 7, 3), 2)
    clean = scratch.scaled_dot_product_attention(q, k, v)
    torch.manual_seed(0)
    noisy = scratch.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not torch.allclose(noisy, clean)
    # inverted dropout on the weights keeps the output's expectation
    torch.manual_seed(0)
    mean = torch.stack(
        [scratch.scaled_dot_product_attention(q, k, v, dropout_p=0.5) for _ in range(4000)]
    ).mean(0)
    torch.testing.assert_close(mean, clean, atol=0.08, rtol=0)
    assert (scratch.scaled_dot_product_attention(q, k, v, dropout_p=1.0) == 0).all()


def test_sdpa_gradcheck_float64():
    q = _randn((2, 3, 4), 0, torch.float64).requires_grad_()
    k = _randn((2, 5, 4), 1, torch.float64).requires_grad_()
    v = _randn((2, 5, 3), 2, torch.float64).requires_grad_()
    mask = _as_float(_ignore((3, 5), 3), 4, torch.float64)
    fn = scratch.scaled_dot_product_attention
    assert torch.autograd.gradcheck(lambda q, k, v: fn(q, k, v, attn_mask=mask), (q, k, v))
    assert torch.autograd.gradcheck(lambda q, k, v: fn(q, k, v, is_causal=True), (q, k, v))
    assert torch.autograd.gradcheck(lambda q, k, v: fn(q, k, v, scale=0.7), (q, k, v))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"query": torch.ones(3, 4, dtype=torch.long)}, TypeError, "floating-point"),
        ({"query": torch.ones(4)}, ValueError, "at least 2-D"),
        ({"key": torch.ones(5, 3)}, ValueError, "key.shape[-1] = query.shape[-1] = 4"),
        ({"value": torch.ones(6, 2)}, ValueError, "same length S"),
        ({"value": torch.ones(5, 2, dtype=torch.float64)}, TypeError, "dtype"),
        ({"attn_mask": torch.ones(3, 4, dtype=torch.bool)}, ValueError, "broadcastable"),
        ({"attn_mask": torch.ones(3, 5, dtype=torch.long)}, TypeError, "bool or floating"),
        (
            {"attn_mask": torch.ones(3, 5, dtype=torch.bool), "is_causal": True},
            ValueError,
            "is_causal",
        ),
        ({"dropout_p": 1.5}, ValueError, "dropout_p"),
    ],
)
def test_sdpa_bad_inputs(kwargs, error, message):
    args = {"query": torch.ones(3, 4), "key": torch.ones(5, 4), "value": torch.ones(5, 2)}
    args.update(kwargs)
    with pytest.raises(error, match="scaled_dot_product_attention") as info:
        scratch.scaled_dot_product_attention(**args)
    assert message in str(info.value)


def test_sdpa_gqa_bad_heads():
    with pytest.raises(ValueError, match="multiple of"):
        scratch.scaled_dot_product_attention(
            torch.ones(1, 3, 2, 4), torch.ones(1, 2, 2, 4), torch.ones(1, 2, 2, 4), enable_gqa=True
        )


# ================================================================ MultiheadAttention
def _pair(*args, seed: int = 0, **kwargs) -> tuple[nn.Module, nn.Module]:
    """(ours, theirs), each built right after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(*args, **kwargs)
    torch.manual_seed(seed)
    ours = scratch.MultiheadAttention(*args, **kwargs)
    return ours, theirs


def _randomize(m: nn.Module, seed: int) -> nn.Module:
    """Nonzero biases (torch starts them at 0), so parity also tests where they enter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "bias" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return m


def _seq(L, n, e, unbatched, batch_first, seed):
    if unbatched:
        return _randn((L, e), seed)
    return _randn((n, L, e) if batch_first else (L, n, e), seed)


@given(
    n=st.integers(1, 3),
    L=st.integers(1, 5),
    S=st.integers(1, 5),
    heads=st.sampled_from([1, 2, 3]),
    head_dim=st.integers(1, 4),
    self_attention=st.booleans(),
    kvdim=st.sampled_from([None, (3, 5), (2, 2)]),
    bias=st.booleans(),
    add_bias_kv=st.booleans(),
    add_zero_attn=st.booleans(),
    batch_first=st.booleans(),
    unbatched=st.booleans(),
    mask=st.sampled_from(["none", "bool", "float", "causal"]),
    mask_3d=st.booleans(),
    padding=st.booleans(),
    need_weights=st.booleans(),
    average=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mha_parity(
    n,
    L,
    S,
    heads,
    head_dim,
    self_attention,
    kvdim,
    bias,
    add_bias_kv,
    add_zero_attn,
    batch_first,
    unbatched,
    mask,
    mask_3d,
    padding,
    need_weights,
    average,
    train,
    seed,
):
    E = heads * head_dim
    if self_attention:
        S, kvdim = L, None
    kdim, vdim = kvdim or (E, E)
    ours, theirs = _pair(
        E,
        heads,
        bias=bias,
        add_bias_kv=add_bias_kv,
        add_zero_attn=add_zero_attn,
        kdim=kdim,
        vdim=vdim,
        batch_first=batch_first,
        seed=seed,
    )
    _randomize(theirs, seed)
    nb = 1 if unbatched else n

    kw = {"need_weights": need_weights, "average_attn_weights": average}
    if mask != "none":
        shape = (nb * heads, L, S) if (mask_3d and mask != "causal") else (L, S)
        ignore = (
            torch.ones(L, S, dtype=torch.bool).triu(1) if mask == "causal" else _ignore(shape, seed)
        )
        kw["attn_mask"] = _as_float(ignore, seed + 5) if mask == "float" else ignore
        # the hint, except where torch's SDPA path would apply it to the appended
        # bias_k / zero key too (see test_mha_causal_hint_with_extra_keys)
        quirk = (add_bias_kv or add_zero_attn) and not need_weights and not padding
        kw["is_causal"] = mask == "causal" and not quirk
    if padding:
        ignore = _ignore((S,) if unbatched else (n, S), seed + 7)
        kw["key_padding_mask"] = _as_float(ignore, seed + 8) if mask == "float" else ignore

    q = _seq(L, n, E, unbatched, batch_first, seed + 1)
    if self_attention:
        # the same tensor three times, so torch takes its packed-projection path
        def call(m, x):
            return m(x, x, x, **kw)

        assert_parity(ours, theirs, q, train=train, atol=ATOL, rtol=RTOL, call=call)
    else:
        k = _seq(S, n, kdim, unbatched, batch_first, seed + 2)
        v = _seq(S, n, vdim, unbatched, batch_first, seed + 3)
        call = lambda m, q, k, v: m(q, k, v, **kw)  # noqa: E731
        assert_parity(ours, theirs, q, k, v, train=train, atol=ATOL, rtol=RTOL, call=call)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"bias": False},
        {"kdim": 3, "vdim": 5},
        {"add_bias_kv": True},
        {"add_bias_kv": True, "add_zero_attn": True, "kdim": 2, "bias": False},
        {"dtype": torch.float64, "batch_first": True},
    ],
)
def test_mha_init_matches_torch_bit_for_bit(kwargs):
    """torch.manual_seed(s) before each constructor gives identical weights."""
    ours, theirs = _pair(12, 3, seed=7, **kwargs)
    so, st_ = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st_)
    for name in so:
        assert torch.equal(so[name], st_[name]), name
    assert ours.head_dim == theirs.head_dim == 4
    assert ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim


@pytest.mark.parametrize(
    "kwargs", [{}, {"bias": False}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True}]
)
def test_mha_state_dict_both_ways(kwargs):
    ours, theirs = _pair(8, 2, **kwargs)
    assert_same_state_layout(ours, theirs)
    # loaded weights give torch's outputs
    _randomize(theirs, 1)
    ours.load_state_dict(theirs.state_dict())
    q, k, v = _randn((4, 2, 8), 0), _randn((3, 2, ours.kdim), 1), _randn((3, 2, ours.vdim), 2)
    torch.testing.assert_close(ours(q, k, v)[0], theirs(q, k, v)[0], atol=ATOL, rtol=RTOL)


def test_mha_dropout_eval_parity_and_train_noise():
    ours, theirs = _pair(8, 2, dropout=0.5)
    _randomize(theirs, 0)
    x = _randn((5, 3, 8), 1)
    call = lambda m, x: m(x, x, x)  # noqa: E731
    assert_parity(ours, theirs, x, train=False, call=call, atol=ATOL, rtol=RTOL)
    ours.eval()
    out_eval, w_eval = ours(x, x, x, average_attn_weights=False)
    ours.train()
    torch.manual_seed(0)
    out_a, w_a = ours(x, x, x, average_attn_weights=False)
    out_b, _ = ours(x, x, x)
    assert not torch.allclose(out_a, out_eval) and not torch.allclose(out_a, out_b)
    # the returned weights are the dropped-out ones (as torch's): 0 or 2 x the clean ones
    kept = w_a != 0
    assert 0.3 < kept.float().mean() < 0.7
    torch.testing.assert_close(w_a[kept], 2 * w_eval[kept])


def test_mha_fully_masked_rows():
    """A batch element whose keys are all padding.

    torch: 0 from its SDPA path (need_weights=False), NaN from its explicit-softmax path
    (need_weights=True) and from its inference fast path. Ours: always the SDPA answer,
    weights 0, so the output there is ``out_proj.bias``.
    """
    ours, theirs = _pair(8, 2, batch_first=True)
    _randomize(theirs, 0)
    ours.load_state_dict(theirs.state_dict())
    x = _randn((2, 4, 8), 1)
    kpm = torch.zeros(2, 4, dtype=torch.bool)
    kpm[1] = True
    call = lambda m, x: m(x, x, x, key_padding_mask=kpm, need_weights=False)  # noqa: E731
    assert_parity(ours, theirs, x, call=call, atol=ATOL, rtol=RTOL)
    out, w = ours(x, x, x, key_padding_mask=kpm)
    torch.testing.assert_close(out[1], ours.out_proj.bias.expand(4, 8))
    assert (w[1] == 0).all() and w.isfinite().all()
    t_out, t_w = theirs(x, x, x, key_padding_mask=kpm)  # torch: 0/0
    assert t_out[1].isnan().all() and t_w[1].isnan().all()
    torch.testing.assert_close(out[0], t_out[0], atol=ATOL, rtol=RTOL)  # the rest agrees


@pytest.mark.parametrize("extra", ["add_bias_kv", "add_zero_attn"])
def test_mha_causal_hint_with_extra_keys(extra):
    """``is_causal=True`` with the causal ``attn_mask`` and an appended key (bias_k or zero).

    We always use the mask, padded with an attendable column for the extra key, which is
    what torch does with ``need_weights=True`` or a key padding mask. Torch's
    ``need_weights=False`` path instead drops the mask for SDPA's own causal triangle over
    the S + 1 keys, which hides the extra key from every query: a torch inconsistency we
    do not copy.
    """
    ours, theirs = _pair(4, 2, **{extra: True})
    _randomize(theirs, 0)
    ours.load_state_dict(theirs.state_dict())
    x = _randn((3, 2, 4), 1)
    causal = torch.ones(3, 3, dtype=torch.bool).triu(1)
    out = ours(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0]
    t_weights_path = theirs(x, x, x, attn_mask=causal, is_causal=True)[0]
    t_no_hint = theirs(x, x, x, attn_mask=causal, need_weights=False)[0]
    t_sdpa_path = theirs(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0]
    torch.testing.assert_close(out, t_weights_path, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(out, t_no_hint, atol=ATOL, rtol=RTOL)
    assert not torch.allclose(t_sdpa_path, t_weights_path, atol=1e-3)


def test_mha_weights_are_attention_weights():
    ours, _ = _pair(6, 3)
    q, k = _randn((4, 2, 6), 0), _randn((5, 2, 6), 1)
    _, w = ours(q, k, k, average_attn_weights=False)
    assert w.shape == (2, 3, 4, 5)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 4))
    _, w_mean = ours(q, k, k)
    torch.testing.assert_close(w_mean, w.mean(1))
    _, w_none = ours(q, k, k, need_weights=False)
    assert w_none is None


def test_mha_mismatched_mask_types_warn_like_torch():
    ours, _ = _pair(4, 2)
    x = _randn((3, 2, 4), 0)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        ours(
            x,
            x,
            x,
            key_padding_mask=torch.zeros(2, 3, dtype=torch.bool),
            attn_mask=torch.zeros(3, 3),
        )


def test_mha_gradcheck_float64():
    m = scratch.MultiheadAttention(4, 2, kdim=3, vdim=2, add_bias_kv=True, dtype=torch.float64)
    _randomize(m, 0)
    q = _randn((3, 2, 4), 1, torch.float64).requires_grad_()
    k = _randn((5, 2, 3), 2, torch.float64).requires_grad_()
    v = _randn((5, 2, 2), 3, torch.float64).requires_grad_()
    kpm = _ignore((2, 5), 4)
    mask = _ignore((3, 5), 5)

    def fn(q, k, v, *params):
        names = [n for n, _ in m.named_parameters()]
        out, w = torch.func.functional_call(
            m,
            dict(zip(names, params, strict=True)),
            (q, k, v),
            {"key_padding_mask": kpm, "attn_mask": mask},
        )
        return out, w

    params = tuple(p.detach().clone().requires_grad_() for p in m.parameters())
    assert torch.autograd.gradcheck(fn, (q, k, v, *params))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: scratch.MultiheadAttention(10, 3), ValueError, "divisible by num_heads"),
        (lambda: scratch.MultiheadAttention(0, 1), ValueError, "embed_dim > 0"),
    ],
)
def test_mha_bad_construction(make, error, message):
    with pytest.raises(error, match="MultiheadAttention") as info:
        make()
    assert message in str(info.value)


_Q = torch.ones(3, 2, 4)
_K = torch.ones(5, 2, 4)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((_Q.long(), _K, _K), {}, TypeError, "floating-point"),
        ((torch.ones(3, 2, 1, 4), _K, _K), {}, ValueError, "(L, N, E) (3-D)"),
        ((_Q, torch.ones(5, 4), _K), {}, ValueError, "key and value 3-D like query"),
        ((torch.ones(3, 2, 6), _K, _K), {}, ValueError, "query.shape[-1] = embed_dim = 4"),
        ((_Q, torch.ones(5, 2, 3), torch.ones(5, 2, 3)), {}, ValueError, "kdim = 4"),
        ((_Q, _K, torch.ones(6, 2, 4)), {}, ValueError, "same length and batch size"),
        ((_Q, torch.ones(5, 3, 4), torch.ones(5, 3, 4)), {}, ValueError, "same batch size"),
        (
            (_Q, _K, _K),
            {"key_padding_mask": torch.zeros(2, 4, dtype=torch.bool)},
            ValueError,
            "(N, S) = (2, 5)",
        ),
        (
            (_Q, _K, _K),
            {"key_padding_mask": torch.zeros(2, 5, dtype=torch.long)},
            TypeError,
            "bool or floating",
        ),
        (
            (_Q, _K, _K),
            {"attn_mask": torch.zeros(3, 4, dtype=torch.bool)},
            ValueError,
            "(L, S) = (3, 5)",
        ),
        (
            (_Q, _K, _K),
            {"attn_mask": torch.zeros(2, 3, 5)},
            ValueError,
            "(N * num_heads, L, S) = (4, 3, 5)",
        ),
        ((_Q, _K, _K), {"is_causal": True}, ValueError, "is_causal"),
        ((_Q.double(), _K.double(), _K.double()), {}, TypeError, "dtype"),
    ],
)
def test_mha_bad_inputs(args, kwargs, error, message):
    m = scratch.MultiheadAttention(4, 2)
    with pytest.raises(error, match="MultiheadAttention") as info:
        m(*args, **kwargs)
    assert message in str(info.value)


def test_mha_unbatched_kpm_shape():
    m = scratch.MultiheadAttention(4, 2)
    x = torch.ones(3, 4)
    with pytest.raises(ValueError, match=r"\(S,\)"):
        m(x, x, x, key_padding_mask=torch.zeros(1, 3, dtype=torch.bool))
