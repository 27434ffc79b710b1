"""Sphinx extension: say in the footer of every page which commit the book was built from.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``. The commit is the
``GITHUB_SHA`` of a CI run, else ``git rev-parse HEAD``, else "unknown" (a tarball with no
git); a tree with uncommitted changes to tracked files is marked "+ local changes". The
line links to the commit on ``repository.url`` and carries the full hash in
``data-commit`` so tests/test_browser.py can check it.
"""

from __future__ import annotations

import html
import os
import subprocess
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def commit_of(root: Path) -> tuple[str, bool]:
    """(full commit hash or "unknown", whether tracked files differ from it)."""
    sha = os.environ.get("GITHUB_SHA", "").strip()
    try:
        if not sha:
            head = _git(root, "rev-parse", "HEAD")
            sha = head.stdout.strip() if head.returncode == 0 else ""
        dirty = bool(sha) and _git(root, "diff", "--quiet", "HEAD", "--").returncode == 1
    except OSError:  # no git on this machine
        dirty = False
    return (sha or "unknown"), dirty


def footer_html(sha: str, dirty: bool, repo_url: str) -> str:
    short = sha[:12] if sha != "unknown" else sha
    label = html.escape(short) + (" + local changes" if dirty else "")
    if sha != "unknown" and repo_url:
        url = html.escape(f"{repo_url.rstrip('/')}/commit/{sha}", quote=True)
        label = f'<a href="{url}"><code>{label}</code></a>'
    return (
        f'<p class="build-commit" data-commit="{html.escape(sha, quote=True)}" '
        f'data-dirty="{str(dirty).lower()}">Built from commit {label}.</p>'
    )


def _add_footer(app: Sphinx, config: Config) -> None:
    sha, dirty = commit_of(Path(app.confdir))
    options = dict(config.html_theme_options or {})
    line = footer_html(sha, dirty, options.get("repository_url", ""))
    options["extra_footer"] = "\n".join(filter(None, [options.get("extra_footer", ""), line]))
    config.html_theme_options = options
    config.html_context = {**(config.html_context or {}), "build_commit": sha}


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
