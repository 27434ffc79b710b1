"""Embedding: init, parity (padding_idx, max_norm, scale_grad_by_freq), gradcheck, bad ids."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import scratch
from tests.parity import assert_parity, assert_same_state_layout


def _ids(shape, n, seed, dtype=torch.int64):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, shape, generator=g, dtype=dtype)


def test_same_signature():
    for ours, theirs in [
        (scratch.Embedding, nn.Embedding),
        (scratch.Embedding.from_pretrained, nn.Embedding.from_pretrained),
    ]:
        o, t = inspect.signature(ours), inspect.signature(theirs)
        assert list(o.parameters) == list(t.parameters)
        for p in o.parameters:
            assert o.parameters[p].default == t.parameters[p].default, p


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1, -10])
@pytest.mark.parametrize("seed", [0, 7])
def test_init_bitwise_equal_to_torch(padding_idx, seed):
    torch.manual_seed(seed)
    ours = scratch.Embedding(10, 4, padding_idx=padding_idx)
    torch.manual_seed(seed)
    theirs = nn.Embedding(10, 4, padding_idx=padding_idx)
    assert ours.padding_idx == theirs.padding_idx  # negative indices normalised alike
    assert torch.equal(ours.weight, theirs.weight)
    if padding_idx is not None:
        assert torch.equal(ours.weight[padding_idx], torch.zeros(4))


@pytest.mark.parametrize(
    "kw",
    [
        {},
        dict(padding_idx=2),
        dict(padding_idx=-1),
        dict(max_norm=1.0),
        dict(max_norm=2.0, norm_type=1.0),
        dict(max_norm=0.5, norm_type=float("inf")),
        dict(scale_grad_by_freq=True),
        dict(scale_grad_by_freq=True, padding_idx=0),
    ],
)
def test_repr(kw):
    assert repr(scratch.Embedding(10, 3, **kw)) == repr(nn.Embedding(10, 3, **kw))


@given(
    n=st.integers(1, 12),
    d=st.integers(1, 6),
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=3),
    padding=st.booleans(),
    data=st.data(),
    max_norm=st.sampled_from([None, 0.5, 1.0, 3.0]),
    norm_type=st.sampled_from([2.0, 1.0, 3.0, float("inf")]),
    freq=st.booleans(),
    int32=st.booleans(),
    train=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_parity(n, d, shape, padding, data, max_norm, norm_type, freq, int32, train, seed):
    padding_idx = data.draw(st.integers(-n, n - 1)) if padding else None
    kw = dict(
        padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=freq
    )
    torch.manual_seed(seed)
    ours, theirs = scratch.Embedding(n, d, **kw), nn.Embedding(n, d, **kw)
    ids = _ids(shape, n, seed, torch.int32 if int32 else torch.int64)
    assert_parity(ours, theirs, ids, train=train)
    # max_norm renormalised the same rows of the weight, in place
    torch.testing.assert_close(ours.weight, theirs.weight)


def test_padding_row_gets_no_gradient_but_is_returned():
    m = scratch.Embedding(5, 3, padding_idx=1)
    with torch.no_grad():
        m.weight[1] = 7.0  # a non-zero pad row is still what a lookup returns
    ids = torch.tensor([[1, 2, 1], [0, 1, 2]])
    y = m(ids)
    assert torch.equal(y[0, 0], torch.full((3,), 7.0))
    y.sum().backward()
    assert torch.equal(m.weight.grad[1], torch.zeros(3))
    assert torch.equal(m.weight.grad[2], torch.full((3,), 2.0))  # looked up twice
    assert torch.equal(m.weight.grad[3], torch.zeros(3))  # never looked up


def test_scale_grad_by_freq_divides_by_count():
    m = scratch.Embedding(4, 2, scale_grad_by_freq=True)
    m(torch.tensor([0, 0, 0, 2])).sum().backward()
    torch.testing.assert_close(
        m.weight.grad, torch.tensor([[1.0, 1.0], [0, 0], [1.0, 1.0], [0, 0]])
    )


def test_max_norm_renormalises_looked_up_rows_only():
    w = torch.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    m = scratch.Embedding.from_pretrained(w.clone(), max_norm=1.0)
    m(torch.tensor([0, 1]))
    torch.testing.assert_close(m.weight[0].norm(), torch.tensor(1.0))
    assert torch.equal(m.weight[1], w[1])  # norm 0.5 <= 1: untouched
    assert torch.equal(m.weight[2], w[2])  # not looked up: untouched


def test_from_pretrained():
    w = torch.randn(6, 3)
    for freeze in (True, False):
        ours = scratch.Embedding.from_pretrained(w, freeze=freeze, padding_idx=-2)
        theirs = nn.Embedding.from_pretrained(w, freeze=freeze, padding_idx=-2)
        assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
        assert ours.padding_idx == theirs.padding_idx == 4
        assert torch.equal(ours.weight, w) and repr(ours) == repr(theirs)
        ids = _ids((2, 3), 6, 0)
        assert_parity(ours, theirs, ids)


def test_state_dict_both_ways_and_dtype():
    assert_same_state_layout(scratch.Embedding(7, 3), nn.Embedding(7, 3))
    assert_same_state_layout(
        nn.Embedding(7, 3, padding_idx=0), scratch.Embedding(7, 3, padding_idx=0)
    )
    m = scratch.Embedding(4, 2, dtype=torch.float64, device="cpu")
    assert m.weight.dtype == torch.float64
    assert not scratch.Embedding(4, 2, _freeze=True).weight.requires_grad


def test_gradcheck():
    # padding_idx and scale_grad_by_freq change the gradient on purpose, so they are
    # checked where it is still the true one: pad id absent, every id seen once
    repeated, unique = torch.tensor([[0, 3, 3], [2, 1, 0]]), torch.tensor([[0, 3], [2, 1]])
    w = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    for kw, ids in [
        ({}, repeated),
        (dict(padding_idx=4), repeated),
        (dict(scale_grad_by_freq=True), unique),
    ]:
        m = scratch.Embedding(5, 4, dtype=torch.float64, **kw)

        def f(weight, m=m, ids=ids):
            return torch.func.functional_call(m, {"weight": weight}, (ids,))

        assert torch.autograd.gradcheck(f, (w,))


def test_bad_inputs():
    m = scratch.Embedding(10, 3)
    with pytest.raises(TypeError, match="Embedding: expected integer ids .*got torch.float32"):
        m(torch.tensor([1.0, 2.0]))
    with pytest.raises(
        ValueError, match=r"Embedding: expected ids in \[0, 9\] \(num_embeddings=10\), got 10"
    ):
        m(torch.tensor([[3, 10], [0, 1]]))
    with pytest.raises(ValueError, match=r"expected ids in \[0, 9\].*got -1"):
        m(torch.tensor([-1, 2]))
    with pytest.raises(TypeError, match="Embedding: expected input to be a torch.Tensor, got list"):
        m([1, 2])
    with pytest.raises(ValueError, match=r"Embedding: expected padding_idx in \[-10, 9\].*got 10"):
        scratch.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match=r"expected padding_idx in \[-10, 9\].*got -11"):
        scratch.Embedding(10, 3, padding_idx=-11)
    with pytest.raises(
        TypeError, match="Embedding: expected padding_idx to be an int or None, got float"
    ):
        scratch.Embedding(10, 3, padding_idx=1.0)
    with pytest.raises(ValueError, match=r"expected _weight of shape \(10, 3\), got \(3, 10\)"):
        scratch.Embedding(10, 3, _weight=torch.randn(3, 10))
    with pytest.raises(
        ValueError, match="Embedding.from_pretrained: expected embeddings .* got a 1-D"
    ):
        scratch.Embedding.from_pretrained(torch.randn(5))
    with pytest.raises(NotImplementedError, match="sparse=True"):
        scratch.Embedding(10, 3, sparse=True)
