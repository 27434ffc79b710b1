"""The chapters as a reader runs them: in JupyterLab, and in a fresh kernel elsewhere.

* test_lab_runs_a_chapter_through_the_ui: JupyterLab (headless, token, on 127.0.0.1)
  serves a temporary copy of book/; Chromium opens the first chapter, runs every cell
  through the Run menu, waits for the kernel, and the test fails on a traceback, a cell
  left unexecuted, a figure missing, or a request off this machine. The screenshot goes
  to test-artifacts/lab.png.
* test_notebook_runs_in_a_temp_dir: a notebook runs top to bottom with nbclient in a
  fresh kernel whose working directory is a temporary copy of book/. nbval (in
  `make test`) already executes every notebook in book/, so by default this runs only
  the cheapest one; BOOK_TMPDIR_RUN=all runs them all.

Both fail if the kernel writes, creates, renames or deletes anything inside the
repository (tracked, untracked or ignored; __pycache__ aside). A Python audit hook in the
kernel (an IPython startup file in a temporary IPYTHONDIR) records every such call, so
the check sees only what the notebook did: comparing `git status` before and after
failed on files that other people wrote into the working tree meanwhile.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.browser_util import (
    ROOT,
    VENV_BIN,
    chromium,
    free_port,
    guard_network,
    require_chromium,
)

NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
LAB_NOTEBOOK = ROOT / "book" / "00_what_a_layer_is.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
RUN_TIMEOUT_S = 420  # the whole chapter, run through the UI on a busy 2-core machine

# JupyterLab user settings for the test: no autosave (the copy stays as it was), the
# notebook's own kernel started without a "Select Kernel" dialog, every cell kept in the
# DOM (no virtual scrolling), no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook tab in front

# Code cells and their prompts: "[ ]:" never run, "[*]:" running or queued, "[3]:" done.
# (A cell whose input is collapsed, such as the launch cell or an exercise's solution,
# shows an empty prompt: it is left out here, and the outputs below show it ran.)
JS_PROMPTS = f"""() => Array.from(
  document.querySelectorAll("{PANEL} .jp-CodeCell .jp-InputPrompt")
).map(p => p.textContent.trim()).filter(t => t !== "")"""

# The status bar says "Python 3 (ipykernel) | Idle" once the kernel is up and idle.
JS_KERNEL_IDLE = """() => /\\|\\s*Idle(?![a-z])/.test(
  (document.querySelector("#jp-main-statusbar") || {}).textContent || "")"""

JS_ERRORS = """() => Array.from(document.querySelectorAll(
  '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
)).map(e => e.textContent).filter(t => t.includes("Traceback") || /^\\w+Error\\b/m.test(t))
  .map(t => t.slice(0, 2000))"""


# IPython startup file for the kernels under test: log every write-like call whose path is
# inside BOOK_AUDIT_ROOT to BOOK_AUDIT_LOG. Everything lives inside one function, so the
# notebook's namespace stays as it would be.
AUDIT_STARTUP = """
def _book_audit_writes():
    import os
    import sys

    root, log_path = os.environ.get("BOOK_AUDIT_ROOT"), os.environ.get("BOOK_AUDIT_LOG")
    if not (root and log_path):
        return
    root = os.path.realpath(root)
    log = open(log_path, "a", buffering=1)  # opened once: later writes raise no event
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    busy = []

    def inside(path):
        if isinstance(path, int):  # a file descriptor
            return None
        try:
            path = os.path.realpath(os.path.join(os.getcwd(), os.fsdecode(path)))
        except (TypeError, ValueError):
            return None
        if os.path.commonpath([path, root]) == root and "__pycache__" not in path:
            return path
        return None

    def hook(event, args):
        if busy:
            return
        if event == "open":
            paths = [args[0]] if (args[2] or 0) & writing else []
        elif event in ("os.rename", "os.replace"):
            paths = [args[0], args[1]]
        elif event in ("os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree"):
            paths = [args[0]]
        else:
            return
        busy.append(True)
        try:
            for path in filter(None, map(inside, paths)):
                log.write(f"{event} {path}\\n")
        finally:
            busy.pop()

    sys.addaudithook(hook)


_book_audit_writes()
del _book_audit_writes
"""


def audited_kernel_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for a kernel that logs its writes into the repository; and the log."""
    startup = tmp_path / "ipython" / "profile_default" / "startup" / "00-audit-writes.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(AUDIT_STARTUP)
    log = tmp_path / "kernel-writes.log"
    log.touch()
    env = {
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "BOOK_AUDIT_ROOT": str(ROOT),
        "BOOK_AUDIT_LOG": str(log),
    }
    return env, log


def _copy_book(dest: Path) -> Path:
    shutil.copytree(
        ROOT / "book", dest / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    return dest / "book"


def _clear_outputs(path: Path) -> None:
    """Start from empty prompts, so every "[n]:" the test sees comes from its own run."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)


def _stored_images(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
    )


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer in {timeout} s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def lab(tmp_path):
    """(base URL, token, book copy): JupyterLab serving a temporary copy of book/."""
    require_chromium()
    book = _copy_book(tmp_path / "root")
    _clear_outputs(book / LAB_NOTEBOOK.name)
    kernel_env, writes = audited_kernel_env(tmp_path)
    settings = tmp_path / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
        **kernel_env,
    }
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    cmd = [
        str(VENV_BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={book.parent}",
        "--ServerApp.port_retries=0",
        "--LabApp.extension_manager=readonly",  # never asks PyPI for extensions
    ]
    if os.geteuid() == 0:  # containers and CI runners
        cmd.append("--allow-root")
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}/"
        _wait_for_server(f"{base}api/status?token={token}", proc, log)
        yield base, token, writes
    finally:
        try:  # the server's own shutdown stops its kernels too
            request = urllib.request.Request(f"{base}api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=10).close()
        except OSError:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_all_through_the_ui(page, url: str) -> list[str]:
    """Open the notebook, wait for its kernel, Run > Run All Cells, wait until done."""
    page.goto(url)
    page.wait_for_selector(f"{PANEL} .jp-Notebook")
    page.wait_for_function(JS_KERNEL_IDLE, timeout=20_000)  # kernel started, idle
    prompts = page.evaluate(JS_PROMPTS)
    assert prompts and all(p == "[ ]:" for p in prompts), prompts

    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu:visible .lm-Menu-itemLabel:text-is('Run All Cells')").click()

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog:visible")
        assert not dialog.count(), f"JupyterLab opened a dialog: {dialog.first.inner_text()}"
        prompts = page.evaluate(JS_PROMPTS)
        started = any(p != "[ ]:" for p in prompts)
        if started and not any("*" in p for p in prompts) and page.evaluate(JS_KERNEL_IDLE):
            return prompts
        time.sleep(1)
    raise AssertionError(f"the chapter did not finish in {RUN_TIMEOUT_S} s; prompts {prompts}")


@pytest.mark.browser
@pytest.mark.slow
def test_lab_runs_a_chapter_through_the_ui(lab, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    base, token, writes = lab
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "lab.png"
    with (
        sync_playwright() as pw,
        chromium(
            pw, tmp_path / "chromium-profile", viewport={"width": 1400, "height": 1000}
        ) as ctx,
    ):
        blocked = guard_network(ctx).blocked
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        try:
            prompts = _run_all_through_the_ui(
                page, f"{base}lab/tree/book/{LAB_NOTEBOOK.name}?token={token}"
            )
            # The screenshot shows the last figure the run drew (or the last cell).
            figures = page.locator(f"{PANEL} .jp-OutputArea-output img")
            (
                figures if figures.count() else page.locator(f"{PANEL} .jp-Cell")
            ).last.scroll_into_view_if_needed()
        except Exception as exc:
            page.screenshot(path=str(shot))
            status = page.evaluate("() => document.querySelector('#jp-main-statusbar').textContent")
            raise AssertionError(f"{exc}\nstatus bar: {status!r}\nscreenshot: {shot}") from exc
        page.screenshot(path=str(shot))

        errors = page.evaluate(JS_ERRORS)
        assert errors == [], "\n\n".join(errors)
        unexecuted = [i for i, p in enumerate(prompts) if not p.strip("[]: ").isdigit()]
        assert unexecuted == [], f"code cells {unexecuted} did not run: {prompts}"
        images = page.locator(f"{PANEL} .jp-OutputArea-output img").count()
        assert images >= _stored_images(LAB_NOTEBOOK), "figures missing from the outputs"
        # the layer's own source, rendered by scratch.show in a code cell's output
        shown = page.locator(f"{PANEL} .jp-OutputArea-output .scratch-source")
        assert shown.count() >= 1, "no layer source (scratch.show) among the outputs"
        assert "class Linear" in shown.first.inner_text(), shown.first.inner_text()[:300]
        # an exercise: the check cell answers the stub, the hidden solution passes its check
        text = page.locator(f"{PANEL} .jp-OutputArea-output").all_inner_texts()
        assert any("linear_forward: not attempted yet" in t for t in text), "no exercise check"
        assert any(t.startswith("✓ linear_forward: right") for t in text), "solution not run"
        page.close()
    assert blocked == [], f"JupyterLab asked for the network: {blocked}"
    assert writes.read_text() == "", "the chapter wrote into the repository"


def _selected_notebooks() -> list[Path]:
    if os.environ.get("BOOK_TMPDIR_RUN") == "all":
        return NOTEBOOKS
    others = [p for p in NOTEBOOKS if p != LAB_NOTEBOOK] or NOTEBOOKS

    def code_size(p: Path) -> int:
        cells = nbformat.read(p, as_version=4).cells
        return sum(len(c.source) for c in cells if c.cell_type == "code")

    return sorted(others, key=code_size)[:1]


@pytest.mark.slow
@pytest.mark.parametrize("notebook", _selected_notebooks(), ids=lambda p: p.name)
def test_notebook_runs_in_a_temp_dir(notebook: Path, tmp_path, monkeypatch) -> None:
    kernel_env, writes = audited_kernel_env(tmp_path)
    for name, value in kernel_env.items():
        monkeypatch.setenv(name, value)  # the kernel inherits this process's environment
    book = _copy_book(tmp_path)
    nb = nbformat.read(book / notebook.name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(book)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    ran = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in ran)
    assert writes.read_text() == "", f"{notebook.name} wrote into the repository"
