"""Shared test set-up: hypothesis profiles and deterministic torch."""

import os

import torch
from hypothesis import HealthCheck, settings

# CI runs the "ci" profile; `HYPOTHESIS_PROFILE=full make test` runs >= 100 examples per
# parity test, as the closing notes report.
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "full",
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests and the notebooks nbval runs (its kernels inherit this) never download data.
os.environ["SCRATCH_OFFLINE"] = "1"

torch.set_num_threads(1)  # xdist already runs one worker per core
