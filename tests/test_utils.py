import pytest
import torch

from scratch.utils import count_parameters, error_bound


@pytest.mark.parametrize(
    ("err", "floor", "expected"),
    [
        (0.0, -12, "1e-12"),
        (5.96e-08, -12, "1e-7"),
        (1e-7, -12, "1e-6"),
        (0.66, -12, "1e0"),
        (3e-15, -16, "1e-14"),
        (3e-15, -12, "1e-12"),
        (12.0, -12, "1e2"),
    ],
)
def test_error_bound_is_the_next_power_of_ten(err, floor, expected) -> None:
    assert error_bound(err, floor) == expected
    assert err < float(expected)


def test_count_parameters_skips_frozen_ones_unless_asked() -> None:
    lin = torch.nn.Linear(3, 2)
    lin.bias.requires_grad_(False)
    assert count_parameters(lin) == 6
    assert count_parameters(lin, trainable_only=False) == 8


def test_seed_offset_moves_every_seed(monkeypatch) -> None:
    import numpy as np
    import torch

    from scratch.utils import SEED_OFFSET_ENV, generator, numpy_rng, seed_all, shifted

    monkeypatch.delenv(SEED_OFFSET_ENV, raising=False)
    base = (torch.rand(3, generator=generator(5)), numpy_rng(5).random(3), shifted(5))
    seed_all(5)
    base_global = torch.rand(3)
    monkeypatch.setenv(SEED_OFFSET_ENV, "1000")
    assert shifted(5) == 1005
    assert torch.equal(torch.rand(3, generator=generator(5)), torch.rand(3, generator=generator(5)))
    assert not torch.equal(torch.rand(3, generator=generator(5)), base[0])
    assert torch.equal(
        torch.rand(3, generator=generator(5)),
        torch.rand(3, generator=torch.Generator().manual_seed(1005)),
    )
    assert not np.array_equal(numpy_rng(5).random(3), base[1])
    seed_all(5)
    assert not torch.equal(torch.rand(3), base_global)
    monkeypatch.setenv(SEED_OFFSET_ENV, "-1")
    assert shifted(5) == 4


def test_a_bad_seed_offset_is_named(monkeypatch) -> None:
    from scratch.utils import SEED_OFFSET_ENV, shifted

    monkeypatch.setenv(SEED_OFFSET_ENV, "ten")
    with pytest.raises(ValueError, match="SCRATCH_SEED_OFFSET must be an integer"):
        shifted(0)


def test_pin_numeric_path_sets_unset_variables_only(monkeypatch) -> None:
    from scratch.reproducibility import NUMERIC_PATH, pin_numeric_path

    for name in NUMERIC_PATH:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")  # the caller's choice wins
    with pytest.warns(RuntimeWarning, match="after torch was imported"):
        in_force = pin_numeric_path()  # torch is imported in this test process
    assert in_force["ATEN_CPU_CAPABILITY"] == "default"
    assert in_force["MKL_ENABLE_INSTRUCTIONS"] == "AVX2" == in_force["MKL_CBWR"]
    assert in_force["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_pinned_path_takes_effect_in_a_fresh_interpreter() -> None:
    """Before torch loads, the pin selects AVX2 (on an x86-64 CPU that has it); an
    explicit ``default`` from the environment selects ATen's plain kernels instead."""
    import os
    import platform
    import subprocess
    import sys

    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the pin selects x86-64 kernels only")
    code = (
        "from scratch.reproducibility import pin_numeric_path, numeric_path\n"
        "pin_numeric_path()\nprint(numeric_path())"
    )
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    pinned = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    if " avx2" in flags:
        assert pinned.stdout.strip() == "AVX2"
    env["ATEN_CPU_CAPABILITY"] = "default"
    plain = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert plain.stdout.strip() == "DEFAULT"
