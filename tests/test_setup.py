"""The set-up is pinned once, in requirements.txt, and everything else agrees with it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.+\-]+)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines() -> list[tuple[str, str, str]]:
    """(name, version, environment marker or "") for every line of requirements.txt."""
    out = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pin, _, marker = (part.strip() for part in line.partition(";"))
        m = PIN.match(pin)
        assert m, f"requirements.txt: not an exact pin: {line!r}"
        out.append((_norm(m.group(1)), m.group(2), marker))
    return out


def pins() -> dict[str, str]:
    return {name: version for name, version, _ in requirement_lines()}


def test_every_requirement_is_an_exact_pin_and_the_key_versions_are_the_required_ones() -> None:
    p = pins()
    assert p["torch"] == "2.14.1"
    assert p["torchvision"] == "0.29.1"
    assert p["jupyter-book"] == "1.0.4.post1"
    for name in [
        "sphinx-book-theme",
        "nbval",
        "pytest",
        "pytest-xdist",
        "hypothesis",
        "pandas",
        "matplotlib",
        "jupyterlab",
        "ipykernel",
        "mnist1d",
        "scikit-learn",
        "scikit-image",
        "tqdm",
        "torchinfo",
        "ruff",
        "sphinx-exercise",
    ]:
        assert name in p, f"{name} is not pinned in requirements.txt"


# Environments of the laptops readers bring (packaging.markers' keys), besides Linux.
READER_PLATFORMS = {
    "macOS (Apple silicon)": {
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "os_name": "posix",
        "platform_machine": "arm64",
    },
    "Windows": {
        "sys_platform": "win32",
        "platform_system": "Windows",
        "os_name": "nt",
        "platform_machine": "AMD64",
    },
    "Linux": {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": "x86_64",
    },
}
# Packages with wheels for Linux only (the CUDA runtime torch's Linux wheel pulls in) and
# packages that exist for one other platform only.
LINUX_ONLY = re.compile(r"^(nvidia-|cuda-|triton$)")
ONLY_ON = {
    "appnope": "macOS (Apple silicon)",
    "colorama": "Windows",
    "pywin32": "Windows",
    "pywinpty": "Windows",
}


def _selected(platform: str) -> set[str]:
    from packaging.markers import Marker

    env = {
        "python_version": "3.11",
        "python_full_version": "3.11.7",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        **READER_PLATFORMS[platform],
    }
    return {n for n, _, marker in requirement_lines() if not marker or Marker(marker).evaluate(env)}


@pytest.mark.parametrize("platform", sorted(READER_PLATFORMS))
def test_no_package_is_pinned_for_a_platform_it_does_not_exist_on(platform: str) -> None:
    """requirements.txt installs on Linux, macOS and Windows alike: Linux-only packages carry
    a platform marker, so a laptop without them never asks for them, and each platform gets
    torch and the packages only it needs. (Checked against PyPI with
    `uv pip compile --python-platform {aarch64-apple-darwin, x86_64-pc-windows-msvc,
    x86_64-unknown-linux-gnu} requirements.txt`, which resolved every platform to pins
    already in the file; a test cannot reach PyPI.)"""
    chosen = _selected(platform)
    assert {"torch", "torchvision", "jupyter-book", "nbval"} <= chosen
    linux_only = {n for n, _, _ in requirement_lines() if LINUX_ONLY.match(n)}
    assert linux_only, "the Linux CUDA runtime is pinned for Linux"
    if platform == "Linux":
        assert linux_only <= chosen
    else:
        assert not linux_only & chosen, sorted(linux_only & chosen)
    for name, home in ONLY_ON.items():
        assert (name in chosen) == (home == platform), (name, platform)


def test_pyproject_agrees_with_requirements() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == "==3.11.*"
    p = pins()
    for dep in project["dependencies"]:
        m = PIN.match(dep)
        assert m, f"pyproject dependency is not an exact pin: {dep}"
        assert p.get(_norm(m.group(1))) == m.group(2), f"{dep} disagrees with requirements.txt"


def test_environment_yml_installs_from_requirements() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section
    assert "-e ." in pip_section


@pytest.mark.parametrize("name", ["torch", "torchvision", "jupyter-book", "nbval", "ruff"])
def test_installed_versions_are_the_pinned_ones(name: str) -> None:
    installed = metadata.version(name).split("+")[0]
    assert installed == pins()[name]


def test_ci_runs_the_readme_test_command_then_the_robustness_run() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme and "make robustness" in readme
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert commands[-2:] == ["make test", "make robustness"]
    makefile = (ROOT / "Makefile").read_text()
    assert "python -m tools.robustness" in makefile


def test_every_make_target_runs_on_the_pinned_numeric_path() -> None:
    """The Makefile exports the variables of scratch.reproducibility for every recipe
    (notebooks, test, lab), keeping a value the caller set."""
    from scratch.reproducibility import NUMERIC_PATH

    makefile = (ROOT / "Makefile").read_text()
    for name, value in NUMERIC_PATH.items():
        assert f"export {name} ?= {value}" in makefile, name
