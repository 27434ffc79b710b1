"""Launch buttons: the Colab cell every notebook starts with, and the Binder set-up.

Neither Colab nor Binder can be reached from a test, so this checks what can be checked
offline: every notebook carries the same launch cell; run where ``scratch`` is missing,
it clones the book's repository and pip-installs ``scratch[book]`` from it (the calls
are recorded, not made), and the ``[book]`` extra exists with pins that agree with
requirements.txt and covers what the chapters import; Binder's files parse, pin the same
versions, and ask for CPU-only torch.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.test_setup import LINUX_ONLY, PIN, _norm, _selected
from tests.test_setup import pins as requirement_pins
from tools.launch_cell import REPOSITORY, SOURCE, TAG, is_launch_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _binder_pins() -> dict[str, str]:
    """binder/requirements.txt's pins (its one option line, the CPU index, skipped)."""
    out = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            m = PIN.match(line)
            assert m, f"binder/requirements.txt: not an exact pin: {line!r}"
            out[_norm(m.group(1))] = m.group(2)
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_starts_with_the_launch_cell(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert is_launch_cell(code[0]), f"{path.name}: the first code cell is not the launch cell"
    assert "".join(code[0]["source"]) == SOURCE, "refresh it: python -m tools.launch_cell"
    assert sum(is_launch_cell(c) for c in cells) == 1
    assert code[0]["outputs"] == []


def test_launch_cell_points_at_the_book_repository() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert REPOSITORY == config["repository"]["url"]
    assert f'"{REPOSITORY}"' in SOURCE
    assert TAG == "remove-cell"


def _run_launch_cell(monkeypatch, home: Path, missing: bool) -> list[list[str]]:
    import importlib.util
    import os

    calls: list[list[str]] = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if missing and name == "scratch" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(list(cmd)))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    monkeypatch.setattr(os, "chdir", lambda where: calls.append(["chdir", str(where)]))
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(SOURCE, "<launch cell>", "exec"), {})
    return calls


def test_launch_cell_installs_the_book_where_scratch_is_missing(tmp_path, monkeypatch) -> None:
    repo = tmp_path / "layers-book"
    calls = _run_launch_cell(monkeypatch, tmp_path, missing=True)
    assert calls == [
        ["git", "clone", "--depth", "1", REPOSITORY, str(repo)],
        [sys.executable, "-m", "pip", "install", "--quiet", f"{repo}[book]"],
        ["chdir", str(repo / "book")],
    ]
    assert sys.path[0] == str(repo)


def test_launch_cell_does_nothing_where_scratch_is_installed(tmp_path, monkeypatch) -> None:
    assert _run_launch_cell(monkeypatch, tmp_path, missing=False) == []


def test_the_install_command_resolves_against_this_repository(tmp_path) -> None:
    """pip accepts the cell's requirement (a local path with the [book] extra) for this
    repository, offline: it builds the metadata and lists what it would install."""
    report = tmp_path / "report.json"
    offline = ["--dry-run", "--no-index", "--no-deps", "--no-build-isolation"]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", *offline]
    subprocess.run(
        [*pip, "--report", str(report), f"{ROOT}[book]"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (item,) = json.loads(report.read_text())["install"]
    assert item["metadata"]["name"] == "scratch"
    assert "book" in item["metadata"]["provides_extra"]


def test_the_book_extra_pins_what_the_chapters_import() -> None:
    from importlib.metadata import packages_distributions

    requirements = requirement_pins()
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = extra["optional-dependencies"]["book"]
    book = {}
    for dep in extra:
        m = PIN.match(dep)
        assert m, f"[book] entry is not an exact pin: {dep}"
        book[_norm(m.group(1))] = m.group(2)
        assert requirements.get(_norm(m.group(1))) == m.group(2), f"{dep} != requirements.txt"
    imported = set()
    for path in NOTEBOOKS:
        for c in json.loads(path.read_text())["cells"]:
            if c["cell_type"] == "code":
                src = "".join(c["source"])
                imported |= set(re.findall(r"^\s*(?:from|import) (\w+)", src, re.M))
    dists = packages_distributions()
    needed = {_norm(d) for name in imported for d in dists.get(name, [])}
    provided_elsewhere = {"torch", "ipython", "scratch"}  # the base install and Colab's kernel
    assert needed - provided_elsewhere <= set(book), sorted(needed - provided_elsewhere - set(book))


def test_binder_installs_cpu_torch_and_the_same_pins() -> None:
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    text = (binder / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text.splitlines()
    pins = _binder_pins()
    requirements = requirement_pins()
    assert pins["torch"] == requirements["torch"] + "+cpu"
    assert pins["torchvision"] == requirements["torchvision"] + "+cpu"
    for name, version in pins.items():
        assert not LINUX_ONLY.match(name), f"{name}: a CUDA package"
        assert version.split("+")[0] == requirements.get(name), f"{name}=={version}"
    # exactly what requirements.txt installs on Linux, less the CUDA runtime
    wanted = {name for name in _selected("Linux") if not LINUX_ONLY.match(name)}
    assert set(pins) == wanted, sorted(set(pins) ^ wanted)
    post_build = (binder / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build
    assert post_build.startswith("#!/bin/bash")
