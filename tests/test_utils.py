import pytest
import torch

from scratch.utils import count_parameters, error_bound


@pytest.mark.parametrize(
    ("err", "floor", "expected"),
    [(0.0, -12, "1e-12"), (5.96e-08, -12, "1e-7"), (1e-7, -12, "1e-6"), (0.66, -12, "1e0"),
     (3e-15, -16, "1e-14"), (3e-15, -12, "1e-12"), (12.0, -12, "1e2")],
)  # fmt: skip
def test_error_bound_is_the_next_power_of_ten(err, floor, expected) -> None:
    assert error_bound(err, floor) == expected
    assert err < float(expected)


def test_count_parameters_skips_frozen_ones_unless_asked() -> None:
    lin = torch.nn.Linear(3, 2)
    lin.bias.requires_grad_(False)
    assert count_parameters(lin) == 6
    assert count_parameters(lin, trainable_only=False) == 8
