"""Sequence models (no torch twins): shapes, gradients reach every parameter, padding is
ignored, the language model is causal, and each fits 8 fixed examples."""

from __future__ import annotations

import pytest
import torch

import scratch
from scratch.models import RNNClassifier, TransformerClassifier, TransformerLM, causal_mask

V, PAD = 20, 0  # vocabulary size, padding id


def tokens(n: int, t: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(1, V, (n, t), generator=torch.Generator().manual_seed(seed))


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of -log softmax(logits)[target] over every leading position."""
    logits = logits.reshape(-1, logits.shape[-1])  # (M, classes)
    target = target.reshape(-1)  # (M,)
    return (torch.logsumexp(logits, -1) - logits[torch.arange(len(target)), target]).mean()


def assert_every_parameter_gets_a_gradient(model: torch.nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient"
        assert p.grad.abs().sum() > 0, f"{name}: zero gradient"


def overfit(model: torch.nn.Module, x: torch.Tensor, loss_fn, steps: int = 40, lr: float = 3e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses[0], losses[-1]


def small_classifier(**kwargs) -> TransformerClassifier:
    torch.manual_seed(0)
    args = dict(
        vocab_size=V,
        d_model=16,
        nhead=2,
        num_layers=2,
        num_classes=3,
        dim_feedforward=32,
        max_len=32,
        dropout=0.1,
        pad_idx=PAD,
    )
    return TransformerClassifier(**(args | kwargs))


def small_lm(**kwargs) -> TransformerLM:
    torch.manual_seed(0)
    args = dict(
        vocab_size=V, d_model=16, nhead=2, num_layers=2, dim_feedforward=32, max_len=32, dropout=0.1
    )
    return TransformerLM(**(args | kwargs))


# ---- TransformerClassifier ------------------------------------------------------------


def test_classifier_shape_and_gradients() -> None:
    model = small_classifier()
    x = tokens(4, 7)
    x[0, 5:] = PAD
    logits = model(x)
    assert logits.shape == (4, 3)
    # the padding row of the embedding gets no gradient, as in torch.nn.Embedding
    loss = cross_entropy(logits, torch.tensor([0, 1, 2, 0]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert torch.count_nonzero(model.embedding.weight.grad[PAD]) == 0


def test_padding_does_not_change_the_classifier_output() -> None:
    model = small_classifier().eval()
    x = tokens(3, 6)
    x[1, 4:] = PAD  # a row that is already padded
    padded = torch.cat([x, torch.full((3, 5), PAD)], dim=1)  # (3, 11)
    with torch.no_grad():
        torch.testing.assert_close(model(padded), model(x), atol=1e-5, rtol=1e-5)
        # and the padded row equals the same sequence without its padding
        torch.testing.assert_close(model(x[1:2, :4]), model(x[1:2]), atol=1e-5, rtol=1e-5)


def test_classifier_overfits_eight_examples() -> None:
    model = small_classifier(dropout=0.0)
    x, y = tokens(8, 6, seed=1), torch.arange(8) % 3
    first, last = overfit(model, x, lambda logits: cross_entropy(logits, y))
    assert last < 0.2 * first, (first, last)


def test_classifier_bad_inputs() -> None:
    model = small_classifier()
    with pytest.raises(ValueError, match="TransformerClassifier: expected tokens of shape"):
        model(tokens(1, 5)[0])
    with pytest.raises(TypeError, match="TransformerClassifier: expected integer token ids"):
        model(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"TransformerClassifier: expected token ids in \[0, 20\)"):
        model(torch.full((1, 3), V))
    with pytest.raises(ValueError, match="a sequence has only padding tokens"):
        model(torch.full((1, 3), PAD))


# ---- TransformerLM ---------------------------------------------------------------------


@pytest.mark.parametrize("tie_weights", [True, False])
def test_lm_shape_gradients_and_tying(tie_weights: bool) -> None:
    model = small_lm(tie_weights=tie_weights)
    assert (model.head.weight is model.embedding.weight) == tie_weights
    n_params = sum(p.numel() for p in model.parameters())  # a tied matrix counts once
    untied = sum(p.numel() for p in small_lm(tie_weights=False).parameters())
    assert n_params == untied - (V * 16 if tie_weights else 0)
    x = tokens(2, 9)
    logits = model(x)
    assert logits.shape == (2, 9, V)
    assert_every_parameter_gets_a_gradient(model, cross_entropy(logits[:, :-1], x[:, 1:]))


@pytest.mark.parametrize("norm_first", [True, False])
def test_lm_is_causal(norm_first: bool) -> None:
    model = small_lm(norm_first=norm_first).eval()
    x = tokens(2, 10)
    changed = x.clone()
    changed[:, 6] = (changed[:, 6] % (V - 1)) + 1  # another non-pad token at t = 6
    with torch.no_grad():
        a, b = model(x), model(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], atol=1e-5, rtol=1e-5)  # t < 6 unchanged
    assert not torch.allclose(a[:, 6:], b[:, 6:])  # t >= 6 sees the change


def test_causal_mask_masks_the_future() -> None:
    mask = causal_mask(4)
    assert mask.dtype == torch.bool
    assert mask.tolist() == [
        [False, True, True, True],
        [False, False, True, True],
        [False, False, False, True],
        [False, False, False, False],
    ]


def test_lm_overfits_and_generates_greedily() -> None:
    model = small_lm(dropout=0.0)
    # 8 sequences that count up modulo V-1: the next token is a function of the current
    start = torch.arange(8).unsqueeze(1)
    x = (start + torch.arange(8)) % (V - 1) + 1  # (8, 8)
    first, last = overfit(
        model, x, lambda lg: cross_entropy(lg[:, :-1], x[:, 1:]), steps=60, lr=1e-2
    )
    assert last < 0.2 * first, (first, last)
    model.train()
    out = model.generate(x[:, :3], max_new_tokens=4)
    assert model.training  # mode restored
    assert out.shape == (8, 7) and torch.equal(out[:, :3], x[:, :3])
    # greedy: each new token is the argmax of the logits given everything before it
    with torch.no_grad():
        model.eval()
        for t in range(3, 7):
            assert torch.equal(out[:, t], model(out[:, :t])[:, -1].argmax(-1))
    assert (out[:, 3:] == x[:, 3:7]).float().mean() > 0.9  # and it learned to count


def test_lm_generate_crops_to_max_len_and_bad_inputs() -> None:
    model = small_lm(max_len=8)
    assert model.generate(tokens(1, 6), max_new_tokens=5).shape == (1, 11)
    with pytest.raises(
        ValueError, match="TransformerLM: expected at most max_len = 8 tokens, got 9"
    ):
        model(tokens(1, 9))
    with pytest.raises(TypeError, match="TransformerLM: expected integer token ids"):
        model(torch.randn(1, 4))


# ---- RNNClassifier ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_classifier_shapes_and_gradients(kind: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    model = RNNClassifier(
        kind, vocab_size=V, hidden_size=8, num_layers=2, num_classes=3, bidirectional=bidirectional
    )
    x = tokens(4, 5)
    logits = model(x)
    assert logits.shape == (4, 3)
    assert model.fc.in_features == (16 if bidirectional else 8)
    assert_every_parameter_gets_a_gradient(model, cross_entropy(logits, torch.tensor([0, 1, 2, 0])))

    features = RNNClassifier(
        kind, input_size=6, hidden_size=8, num_classes=2, bidirectional=bidirectional
    )
    assert features.embedding is None
    assert features(torch.randn(3, 5, 6)).shape == (3, 2)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_rnn_classifier_reads_the_last_hidden_state(kind: str) -> None:
    torch.manual_seed(0)
    model = RNNClassifier(kind, input_size=3, hidden_size=5, num_classes=2).eval()
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        output = model.rnn(x)[0]  # (N, T, H)
        torch.testing.assert_close(model(x), model.fc(output[:, -1]))
        # lengths reads each row at its own last step: right-padding is ignored
        padded = torch.cat([x, torch.randn(2, 3, 3)], dim=1)
        lengths = torch.tensor([4, 4])
        torch.testing.assert_close(model(padded, lengths=lengths), model(x))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_rnn_classifier_overfits_eight_examples(kind: str) -> None:
    torch.manual_seed(0)
    model = RNNClassifier(kind, vocab_size=V, hidden_size=16, num_classes=2)
    x, y = tokens(8, 6, seed=1), torch.arange(8) % 2
    first, last = overfit(model, x, lambda logits: cross_entropy(logits, y), steps=60, lr=1e-2)
    assert last < 0.2 * first, (first, last)


def test_rnn_classifier_bad_arguments() -> None:
    with pytest.raises(ValueError, match="RNNClassifier: expected kind in"):
        RNNClassifier("transformer", input_size=3)
    with pytest.raises(ValueError, match="give exactly one of input_size and vocab_size"):
        RNNClassifier("gru", input_size=3, vocab_size=V)
    with pytest.raises(ValueError, match="RNNClassifier: expected input of shape"):
        RNNClassifier("gru", input_size=3)(torch.randn(4, 3))
    with pytest.raises(ValueError, match="lengths is supported for unidirectional models only"):
        RNNClassifier("gru", input_size=3, bidirectional=True)(
            torch.randn(1, 4, 3), lengths=torch.tensor([2])
        )


def test_relation_transformer_is_causal_and_reads_out_every_relation() -> None:
    torch.manual_seed(0)
    m = scratch.models.RelationTransformer(vocab_size=8, seq_len=10, num_relations=3).eval()
    tok = torch.randint(0, 8, (4, 10))
    out = m(tok)
    assert out.shape == (4, 10, 3, 8)
    later = tok.clone()
    later[:, 6:] = (later[:, 6:] + 1) % 8  # change only positions 6..9
    with torch.no_grad():
        moved = (m(later) - out).abs().amax(dim=(0, 2, 3))  # (T,)
    assert moved[:6].max() == 0 and moved[6:].min() > 0
    with pytest.raises(ValueError, match="RelationTransformer: expected token ids in"):
        m(torch.full((1, 10), 8))


def test_attention_probe_returns_one_weight_map_per_head() -> None:
    torch.manual_seed(0)
    m = scratch.models.AttentionProbe(vocab_size=5, seq_len=8, num_heads=4)
    logits, weights = m(torch.randint(0, 5, (3, 8)))
    assert logits.shape == (3, 8, 5) and weights.shape == (3, 4, 8, 8)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, 8))
    with pytest.raises(ValueError, match="AttentionProbe: expected"):
        m(torch.randint(0, 5, (8,)))
