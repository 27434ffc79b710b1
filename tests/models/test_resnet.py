"""ImageNet ResNets against torchvision: module tree, state_dict both ways, parameter
counts, outputs in eval mode, gradients, initialization."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

import scratch
import scratch.models as models
from scratch.utils import count_parameters
from tests.parity import assert_parity, assert_same_state_layout

# torchvision's published counts at 1000 classes
PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}


def pair(name: str, **kwargs):
    torch.manual_seed(0)
    return getattr(models, name)(**kwargs), getattr(torchvision.models, name)(
        weights=None, **kwargs
    )


@pytest.mark.parametrize("name", list(PARAMS))
def test_same_tree_state_dict_and_outputs_as_torchvision(name: str) -> None:
    ours, theirs = pair(name)
    tree = [(n, type(m).__name__) for n, m in ours.named_modules()]
    assert tree == [(n, type(m).__name__) for n, m in theirs.named_modules()]
    assert count_parameters(ours) == count_parameters(theirs) == PARAMS[name]
    assert_same_state_layout(ours, theirs)  # strict load, torchvision -> ours -> torchvision

    _calibrate(theirs)  # real running statistics, so eval mode normalizes
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours32, theirs32 = ours(x), theirs(x)
        ours64, theirs64 = ours.double()(x.double()), theirs.double()(x.double())
    # In float64 the two agree to rounding; a bug would show at any depth.
    torch.testing.assert_close(ours64, theirs64, atol=1e-9, rtol=1e-9)
    # In float32 rounding grows with depth (to ~2e-4 at 152 layers, for torchvision too):
    # ours must be as close to the float64 answer as torchvision's own float32 run.
    err_ours = (ours32.double() - theirs64).abs().max().item()
    err_theirs = (theirs32.double() - theirs64).abs().max().item()
    assert err_ours <= 3 * err_theirs + 1e-6, (err_ours, err_theirs)
    assert 0.1 < theirs64.abs().max() < 100  # a well-scaled output: the comparison means something


def _calibrate(model: torch.nn.Module) -> None:
    """Set every BN's running statistics to those of one random batch (momentum None:
    a cumulative average, which after one batch is that batch's mean and variance)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(2)))


@pytest.mark.parametrize("block", ["BasicBlock", "Bottleneck"])
def test_gradients_match_torchvision_in_train_mode(block: str) -> None:
    # one block per stage keeps it cheap and still runs every code path of the block,
    # the projection shortcuts and the stem
    torch.manual_seed(0)
    ours = models.ResNet(getattr(models, block), [1, 1, 1, 1], num_classes=10)
    theirs = torchvision.models.resnet.ResNet(
        getattr(torchvision.models.resnet, block), [1, 1, 1, 1], num_classes=10
    )
    ours.double(), theirs.double()  # float64: rounding cannot hide (or fake) a difference
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert_parity(ours, theirs, x, train=True, atol=1e-8, rtol=1e-8)


def test_initialization_is_torchvisions() -> None:
    model = models.resnet18()
    for name, m in model.named_modules():
        if isinstance(m, scratch.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            std = m.weight.std().item()
            expected = math.sqrt(2.0 / fan_out)  # kaiming_normal_, fan_out, ReLU gain
            assert abs(std / expected - 1) < 0.15, (name, std, expected)
        elif isinstance(m, scratch.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight)), name
            assert torch.equal(m.bias, torch.zeros_like(m.bias)), name


@pytest.mark.parametrize("name, last_bn", [("resnet18", "bn2"), ("resnet50", "bn3")])
def test_zero_init_residual_makes_every_block_start_as_identity(name: str, last_bn: str) -> None:
    model = getattr(models, name)(zero_init_residual=True)
    blocks = [m for m in model.modules() if isinstance(m, (models.BasicBlock, models.Bottleneck))]
    assert len(blocks) == (8 if name == "resnet18" else 16)
    for block in blocks:
        assert torch.count_nonzero(getattr(block, last_bn).weight) == 0
    assert torch.count_nonzero(model.layer1[0].bn1.weight) > 0


def test_num_classes_and_shapes() -> None:
    model = models.resnet18(num_classes=10).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model.layer4[0].downsample[0].stride == (2, 2)
    assert model.layer1[0].downsample is None


def test_bad_inputs() -> None:
    model = models.resnet18(num_classes=10)
    with pytest.raises(ValueError, match="ResNet: expected input of shape"):
        model(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="ResNet: expected input channels = 3, got 1"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        models.resnet18(groups=2)
    with pytest.raises(ValueError, match="replace_stride_with_dilation"):
        models.resnet50(replace_stride_with_dilation=[True])


@pytest.mark.parametrize(
    "kwargs",
    [dict(groups=4, width_per_group=8), dict(replace_stride_with_dilation=[False, True, True])],
    ids=["resnext-groups", "dilation"],
)
def test_resnext_and_dilation_options_match_torchvision(kwargs) -> None:
    torch.manual_seed(0)
    ours = models.ResNet(models.Bottleneck, [1, 1, 1, 1], num_classes=5, **kwargs)
    tv = torchvision.models.resnet
    theirs = tv.ResNet(tv.Bottleneck, [1, 1, 1, 1], num_classes=5, **kwargs)
    assert_same_state_layout(ours, theirs)
    ours.double().eval(), theirs.double().eval()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-9, rtol=1e-9)
