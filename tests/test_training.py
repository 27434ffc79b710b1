"""The shared trainer: fit, evaluate and over_seeds."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from scratch.training import SEEDS, accuracy, batch_indices, evaluate, fit, over_seeds, train
from scratch.utils import generator


def _blobs(n: int = 200):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) + 3.0 * y[:, None].float()
    return x[:150], y[:150], x[150:], y[150:]


def test_fit_learns_separable_blobs_and_reports_points() -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    points = fit(model, _blobs(), steps=60, batch_size=32, seed=0, lr=0.5, eval_every=20)
    assert [p["step"] for p in points] == [20, 40, 60]
    assert points[-1]["test_acc"] > 0.9
    assert set(points[-1]) == {"step", "train_loss", "train_acc", "test_loss", "test_acc"}
    assert model.training  # fit leaves the model in training mode


def test_fit_stops_on_a_non_finite_loss() -> None:
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.fill_(float("inf"))
    points = fit(model, _blobs(), steps=10, batch_size=32, seed=0)
    assert points[-1]["step"] == 1 and math.isnan(points[-1]["test_loss"])
    assert points[-1]["test_acc"] == 0.5  # chance for two classes


def test_evaluate_uses_eval_mode_and_restores_it() -> None:
    x, y, _, _ = _blobs()
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.9), nn.Linear(8, 2))
    model.train()
    a, b = evaluate(model, x, y), evaluate(model, x, y)
    assert a == b  # dropout is off: deterministic
    assert model.training
    assert accuracy(model, x, y) == a[1]


def test_batches_follow_the_seed() -> None:
    a = [i.tolist() for i in batch_indices(10, 4, 5, generator(0))]
    b = [i.tolist() for i in batch_indices(10, 4, 5, generator(0))]
    c = [i.tolist() for i in batch_indices(10, 4, 5, generator(1))]
    assert a == b != c
    assert all(len(batch) == 4 for batch in a)
    assert sorted(a[0] + a[1]) == sorted(set(a[0] + a[1]))  # no repeats within an epoch


def test_over_seeds_reseeds_before_each_run() -> None:
    draws = over_seeds(lambda seed: (seed, torch.rand(1).item()))
    assert [s for s, _ in draws] == list(SEEDS)
    assert len({v for _, v in draws}) == len(SEEDS)
    assert over_seeds(lambda seed: torch.rand(1).item(), [1]) == [draws[1][1]]


def test_fit_takes_train_only_or_train_and_test_data() -> None:
    with pytest.raises(ValueError, match="fit: expected data"):
        fit(nn.Linear(2, 2), _blobs()[:3], steps=1, batch_size=2, seed=0)
    assert fit(nn.Linear(2, 2), _blobs()[:2], steps=3, batch_size=2, seed=0) == []
    with pytest.raises(ValueError, match="exactly one of steps and epochs"):
        fit(nn.Linear(2, 2), _blobs(), steps=3, epochs=1, batch_size=2, seed=0)
    with pytest.raises(ValueError, match="expected an optimizer in"):
        fit(nn.Linear(2, 2), _blobs(), steps=3, batch_size=2, seed=0, optimizer="lbfgs")


def test_epochs_are_the_hand_written_epoch_loop() -> None:
    """fit(epochs=...) is the loop chapters used to write out: a fresh permutation per
    epoch, the last batch smaller, AdamW with weight decay; same weights to the bit."""
    x, y = _blobs()[:2]
    torch.manual_seed(0)
    ours, hand = nn.Linear(2, 2), nn.Linear(2, 2)
    hand.load_state_dict(ours.state_dict())
    losses, points = train(
        ours, (x, y), epochs=3, batch_size=7, seed=5, optimizer="adamw", lr=0.01, weight_decay=0.1
    )
    opt, gen, expected = (
        torch.optim.AdamW(hand.parameters(), lr=0.01, weight_decay=0.1),
        generator(5),
        [],
    )
    for _ in range(3):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), 7):
            idx = order[start : start + 7]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(hand(x[idx]), y[idx])
            loss.backward()
            opt.step()
            expected.append(loss.item())
    assert points == [] and losses == expected and len(losses) == 3 * math.ceil(len(x) / 7)
    assert torch.equal(ours.weight, hand.weight) and torch.equal(ours.bias, hand.bias)


def test_train_probes_every_k_updates_and_after_the_last() -> None:
    seen: list[int] = []
    losses, points = train(
        nn.Linear(2, 2), _blobs(), steps=25, batch_size=4, seed=0, probe=seen.append
    )
    assert seen == [0, 10, 20, 25] and len(losses) == 25 and points[-1]["step"] == 25
    seen.clear()
    model = nn.Linear(2, 2)
    train(model, _blobs(), steps=30, batch_size=4, seed=0, probe=seen.append, lr=math.inf)
    assert seen and seen[-1] < 30  # diverged: no probe after the last update
