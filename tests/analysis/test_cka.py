"""Linear CKA (scratch.analysis.cka): the two forms agree, and the invariances the chapter
relies on hold."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.analysis as analysis
from scratch.analysis import centred_gram, cka, cka_from_grams


def _features(seed: int, n: int, p: int) -> torch.Tensor:
    return torch.randn(n, p, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000), n=st.integers(5, 60), p=st.integers(1, 12), q=st.integers(1, 12)
)
def test_feature_form_equals_gram_form(seed: int, n: int, p: int, q: int) -> None:
    X, Y = _features(seed, n, p), _features(seed + 1, n, q)
    assert abs(cka(X, Y) - cka_from_grams(centred_gram(X), centred_gram(Y))) < 1e-10


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0), shift=st.floats(-10.0, 10.0))
def test_invariant_to_rotation_scale_and_column_shift(
    seed: int, scale: float, shift: float
) -> None:
    X = _features(seed, 40, 6)
    Q = torch.linalg.qr(_features(seed + 1, 6, 6))[0]  # orthogonal
    assert abs(cka(X, scale * X @ Q + shift) - 1.0) < 1e-10
    assert 0.0 <= cka(X, _features(seed + 2, 40, 3)) <= 1.0 + 1e-12


def test_independent_features_score_far_below_copies() -> None:
    X, Y = _features(0, 2000, 5), _features(1, 2000, 5)
    assert cka(X, Y) < 0.05 < 0.99 < cka(X, X)


def test_gram_of_a_layer_output_is_flattened_centred_and_float64() -> None:
    out = torch.randn(10, 3, 4, 4)  # (n, C, H, W), as a conv block returns
    K = centred_gram(out)
    assert K.shape == (10, 10) and K.dtype == torch.float64
    assert torch.allclose(K.sum(0), torch.zeros(10, dtype=torch.float64), atol=1e-9)


def test_the_analysis_package_exports_its_tools() -> None:
    for name in analysis.__all__:
        assert callable(getattr(analysis, name)), name
