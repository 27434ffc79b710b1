"""Shared helpers for the tests that drive headless Chromium (test_browser.py, test_lab.py).

* ``chromium(playwright, tmp)``: Debian's /usr/bin/chromium through playwright, with a
  fresh user-data dir and nothing that phones home;
* ``guard_network(context)``: aborts every request to a host other than 127.0.0.1 or
  localhost and records it, so a page that needs the network fails its test;
* ``serve(directory)``: a static http.server on 127.0.0.1 at a free port, in a thread;
* ``free_port()``, ``toc_pages()``, ``ensure_book_built()``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_toc import toc_entries

ROOT = Path(__file__).resolve().parents[1]
# BOOK_HTML: check a book built elsewhere (jupyter-book build . --path-output DIR).
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_chromium() -> None:
    """Fail (not skip: `make test` installs it) with the one command that fixes it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: run 'make data' as root, or "
            "'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)",
            pytrace=False,
        )


@contextlib.contextmanager
def chromium(playwright, user_data_dir: Path, **context_options):
    """A headless Chromium context with a fresh profile in ``user_data_dir``."""
    require_chromium()
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        **context_options,
    )
    try:
        yield context
    finally:
        context.close()


@dataclass
class NetworkLog:
    """Requests the guard aborted (anything not on 127.0.0.1/localhost)."""

    blocked: list[str] = field(default_factory=list)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.hostname in LOCAL_HOSTS


def guard_network(context) -> NetworkLog:
    log = NetworkLog()

    def handle(route) -> None:
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", handle)
    return log


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on http://127.0.0.1:<free port>/ in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def toc_pages() -> list[str]:
    """Every page of _toc.yml (root first) as a docname, e.g. 'book/intro'."""
    return [
        str(Path(f).with_suffix("")) if f.endswith((".md", ".ipynb")) else f for f in toc_entries()
    ]


def ensure_book_built() -> Path:
    """_build/html as `make book-strict` leaves it; built here (strict) if it is missing."""
    missing = [p for p in toc_pages() if not (HTML / f"{p}.html").exists()]
    if missing or not (HTML / "index.html").exists():
        assert "BOOK_HTML" not in os.environ, f"BOOK_HTML={HTML} lacks pages: {missing}"
        jb = shutil.which("jupyter-book", path=str(VENV_BIN)) or "jupyter-book"
        cmd = [jb, "build", str(ROOT), "--warningiserror", "--nitpick", "--keep-going"]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"book build failed:\n{result.stdout[-4000:]}"
    return HTML


def git_status(root: Path = ROOT) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(out.stdout.splitlines())


# Files people edit. Other agents and editors change these while a long test runs; what a
# notebook leaves behind by mistake is data (figures, CSV, JSON, checkpoints, weights).
EDITED_SUFFIXES = {".py", ".md", ".ipynb", ".yml", ".yaml", ".toml", ".cfg", ".txt", ".sh"}


def new_changes(before: list[str]) -> list[str]:
    """`git status` entries that appeared since ``before``: files written into the repo.

    Only additions count (a commit made meanwhile is not the test's doing), and only
    files that are not sources (EDITED_SUFFIXES), so concurrent editing does not fail it.
    """
    added = set(git_status()) - set(before)
    return sorted(e for e in added if Path(e[3:].strip('"')).suffix not in EDITED_SUFFIXES)
