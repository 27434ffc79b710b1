"""CIFAR ResNets of He et al. (2016, section 4.2), their plain twins, the option-A
shortcut, and per-layer gradient norms."""

from __future__ import annotations

import math

import pytest
import torch

import scratch
import scratch.analysis as analysis
import scratch.models as models
from scratch.models.cifar_resnet import CifarBasicBlock, ShortcutA
from scratch.utils import count_parameters

# depth -> (parameters in the paper's Table 6, our exact count with 3 inputs, 10 classes)
PAPER = {
    20: ("0.27M", 269_722),
    32: ("0.46M", 464_154),
    44: ("0.66M", 658_586),
    56: ("0.85M", 853_018),
    110: ("1.7M", 1_727_962),
}


def exact_count(n: int, widths=(16, 32, 64), c_in: int = 3, classes: int = 10) -> int:
    """Count by hand: 3×3 convs without bias, BN (2 per channel), option-A shortcuts free."""
    total = 9 * c_in * widths[0] + 2 * widths[0]  # conv1, bn1
    prev = widths[0]
    for w in widths:
        for _ in range(n):
            total += 9 * prev * w + 9 * w * w + 4 * w  # conv1, conv2, bn1, bn2
            prev = w
    return total + widths[-1] * classes + classes  # fc


def paper_precision(count: int, reported: str) -> str:
    """Round to as many significant digits as the paper prints (0.27M: 2, 1.7M: 2)."""
    digits = len(reported.rstrip("M").replace("0.", "").replace(".", ""))
    value = float(f"{count / 1e6:.{digits}g}")
    return f"{value:g}M"


@pytest.mark.parametrize("depth", list(PAPER))
def test_parameter_counts_match_the_paper(depth: int) -> None:
    reported, exact = PAPER[depth]
    residual = models.cifar_resnet(depth)
    plain = models.cifar_resnet(depth, residual=False)
    assert count_parameters(residual) == exact == exact_count((depth - 2) // 6)
    assert paper_precision(exact, reported) == reported
    assert count_parameters(plain) == count_parameters(residual)  # shortcuts are free
    assert residual.depth == depth
    # weighted layers: 6n convolutions in the stages, conv1, fc
    convs = [m for m in residual.modules() if isinstance(m, scratch.Conv2d)]
    assert len(convs) + 1 == depth


def test_the_papers_counts_are_option_a_not_option_b() -> None:
    # Option B (1×1 conv + BN projections where the width doubles) adds 2,752 parameters
    # (272,474 for ResNet-20). ResNet-32 tells them apart: B would print 0.47M, not 0.46M.
    option_b = {
        d: exact + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64) for d, (_, exact) in PAPER.items()
    }
    assert option_b[20] == 272_474 and option_b[110] == 1_730_714
    assert paper_precision(option_b[32], "0.46M") == "0.47M"
    assert all(paper_precision(exact, rep) == rep for rep, exact in PAPER.values())


@pytest.mark.parametrize("name", ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"])
def test_named_constructors_and_their_plain_twins(name: str) -> None:
    depth = int(name.removeprefix("resnet"))
    residual = getattr(models, name)(num_classes=100)
    plain = getattr(models, f"plain{depth}")(num_classes=100)
    assert residual.residual and not plain.residual
    assert residual.depth == plain.depth == depth
    assert residual.fc.out_features == 100
    # the same layers, the same state_dict: weights move between the twins
    plain.load_state_dict(residual.state_dict(), strict=True)


@pytest.mark.parametrize("residual", [True, False])
def test_output_shapes(residual: bool) -> None:
    model = models.cifar_resnet(20, residual=residual, in_channels=1, num_classes=7).eval()
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 7)
    rows = analysis.shape_table(model, (1, 1, 32, 32), leaves_only=False)
    shapes = {r["name"]: r["output_shape"] for r in rows}
    assert shapes["layer1"] == (1, 16, 32, 32)
    assert shapes["layer2"] == (1, 32, 16, 16)
    assert shapes["layer3"] == (1, 64, 8, 8)


def test_option_a_shortcut_subsamples_and_zero_pads() -> None:
    shortcut = ShortcutA(16, 32, stride=2)
    assert list(shortcut.parameters()) == []
    x = torch.randn(2, 16, 8, 8)
    y = shortcut(x)
    assert y.shape == (2, 32, 4, 4)
    torch.testing.assert_close(y[:, 8:24], x[:, :, ::2, ::2])  # the old channels, centred
    assert torch.count_nonzero(y[:, :8]) == 0 and torch.count_nonzero(y[:, 24:]) == 0


def test_residual_and_plain_blocks() -> None:
    torch.manual_seed(0)
    block = CifarBasicBlock(16, 16).eval()
    plain = CifarBasicBlock(16, 16, residual=False).eval()
    plain.load_state_dict(block.state_dict())
    assert isinstance(block.shortcut, torch.nn.Identity) and plain.shortcut is None
    x = torch.randn(2, 16, 8, 8)
    # y = relu(F(x) + x) against y = relu(F(x)): recover F(x) from the plain block
    f = plain.bn2(plain.conv2(plain.relu(plain.bn1(plain.conv1(x)))))
    torch.testing.assert_close(block(x), (f + x).clamp(min=0))
    torch.testing.assert_close(plain(x), f.clamp(min=0))
    assert isinstance(CifarBasicBlock(16, 32, stride=2).shortcut, ShortcutA)


def test_grad_norms_by_layer_lists_every_conv_in_order() -> None:
    torch.manual_seed(0)
    model = models.resnet20()
    with pytest.raises(ValueError, match="grad_norms_by_layer: conv1.weight has no gradient"):
        analysis.grad_norms_by_layer(model)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    logits = model(x)
    # cross-entropy by hand: -log softmax at the label
    loss = (torch.logsumexp(logits, 1) - logits[torch.arange(4), y]).mean()
    loss.backward()
    norms = analysis.grad_norms_by_layer(model)
    names = [n for n, _ in norms]
    assert len(norms) == 19 and names[0] == "conv1" and names[-1] == "layer3.2.conv2"
    assert names[1:3] == ["layer1.0.conv1", "layer1.0.conv2"]
    for name, value in norms:
        grad = dict(model.named_modules())[name].weight.grad
        assert math.isclose(value, grad.norm().item(), rel_tol=1e-5), name
    dense = analysis.grad_norms_by_layer(model, kinds=(scratch.Linear,))
    assert [n for n, _ in dense] == ["fc"]
    with pytest.raises(ValueError, match="model has no layer of type Conv1d, Conv2d"):
        analysis.grad_norms_by_layer(scratch.Linear(2, 2))


def test_output_grad_norms_match_autograd_and_leave_no_hooks() -> None:
    torch.manual_seed(0)
    model = models.plain20(in_channels=1)
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])

    def loss_fn():
        logits = model(x)
        return (torch.logsumexp(logits, 1) - logits[torch.arange(4), y]).mean()

    arriving = analysis.output_grad_norms(model, loss_fn)
    names = [n for n, _ in arriving]
    assert len(arriving) == 19 and names[0] == "conv1" and names[-1] == "layer3.2.conv2"
    # the weights' gradients were filled by the same backward pass
    assert [n for n, _ in analysis.grad_norms_by_layer(model)] == names
    assert all(not m._forward_hooks for m in model.modules())
    # reference: the same outputs captured by hand and differentiated with autograd.grad
    convs = dict(model.named_modules())
    outputs = {}
    handles = [
        convs[n].register_forward_hook(lambda m, a, out, n=n: outputs.__setitem__(n, out))
        for n in names
    ]
    loss = loss_fn()
    for h in handles:
        h.remove()
    grads = torch.autograd.grad(loss, [outputs[n] for n in names])
    for (name, value), g in zip(arriving, grads):
        assert math.isclose(value, g.norm().item(), rel_tol=1e-5), name

    # an in-place op after the layer (here a ReLU) does not hide its gradient
    class InplaceReLU(torch.nn.Module):
        def forward(self, h):
            return h.relu_()

    net = torch.nn.Sequential(scratch.Conv2d(1, 2, 3), InplaceReLU(), scratch.Conv2d(2, 1, 3))
    got = analysis.output_grad_norms(net, lambda: net(x).pow(2).sum())
    h = net[0](x)
    (want,) = torch.autograd.grad(net[2](h.relu()).pow(2).sum(), [h])
    assert math.isclose(got[0][1], want.norm().item(), rel_tol=1e-5) and got[0][1] > 0
    # an unused layer gets no gradient and reports 0
    extra = torch.nn.Sequential(scratch.Conv2d(1, 2, 3), scratch.Conv2d(1, 2, 3))
    out = analysis.output_grad_norms(extra, lambda: extra[0](x).sum())
    assert out[0][1] > 0 and out[1] == ("1", 0.0)
    with pytest.raises(ValueError, match="output_grad_norms: model has no layer of type"):
        analysis.output_grad_norms(scratch.Linear(2, 2), lambda: torch.zeros(()))
    with pytest.raises(ValueError, match="ran none of the watched layers"):
        analysis.output_grad_norms(extra, lambda: x.sum().requires_grad_())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"cifar_resnet: expected depth = 6n \+ 2"):
        models.cifar_resnet(18)
    with pytest.raises(ValueError, match="CifarResNet: expected input channels = 3, got 1"):
        models.resnet20()(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="CifarResNet: expected input of shape"):
        models.resnet20()(torch.randn(3, 32, 32))
