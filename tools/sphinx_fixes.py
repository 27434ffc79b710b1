"""Sphinx extension: drop the second copy of an inline <script> from every page.

sphinx-thebe 0.3.1 registers its inline configuration script (``const THEBE_JS_URL =
...``) after the HTML builder has started. Sphinx 7.4 then adds it twice: once straight
to the builder (``filename=None``) and once more from the registry in
``prepare_writing`` (``filename=''``); the two copies compare unequal, so both reach the
page and the second throws "Identifier 'THEBE_JS_URL' has already been declared" in
every reader's console. tests/test_browser.py fails on any console error, so the
duplicate goes here rather than into an allow-list. Loaded through
``sphinx.local_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _key(script) -> tuple:
    attributes = tuple(sorted((k, str(v)) for k, v in script.attributes.items()))
    return (str(script.filename or ""), attributes)


def dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        if not hasattr(script, "attributes"):  # a plain string: keep as it is
            unique.append(script)
            continue
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    # After every extension that adds scripts to the page (default priority is 500).
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
