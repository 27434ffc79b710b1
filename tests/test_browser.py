"""The built book as a reader meets it: every page opened in headless Chromium, offline.

_build/html (from `make book-strict`, or built here if missing) is served on 127.0.0.1,
and every page of _toc.yml, index.html, search.html and genindex.html is opened in
Debian's Chromium through playwright. A page fails on

* a request to any host but 127.0.0.1/localhost (aborted, and listed in the failure),
* a local request answered with an HTTP error, or one that failed,
* a JavaScript error (uncaught exception or console error),
* an image that did not load (naturalWidth == 0),
* math that MathJax did not typeset (no mjx-container, raw TeX left, a TeX error) or
  MathJax not served from the book itself,
* a dollar sign or TeX delimiter left in the prose (math the parser missed),
* too little text (an empty page),
* a markdown table left as raw text (`| a | b |` lines with a `|---|` rule),
* an output block wider than its column (the reader would scroll sideways),
* an image without alt text, or whose alt text is a file name or path.

Then: search finds a chapter, the launch and download buttons point where _config.yml
says, the front page names the commit the book was built from, and linkchecker finds no
broken internal link.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from tests.browser_util import (
    ROOT,
    VENV_BIN,
    chromium,
    ensure_book_built,
    guard_network,
    require_chromium,
    serve,
    toc_pages,
)

pytestmark = pytest.mark.browser

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
MIN_TEXT = 300  # characters of article text below which a book page counts as empty
# Console errors that are known, harmless and not ours: (pattern, reason). Empty on
# purpose. The two the theme stack produced are fixed at their source instead:
# "Got invalid theme mode: ." (pydata-sphinx-theme with no default_mode; _config.yml sets
# html_context.default_mode) and "Identifier 'THEBE_JS_URL' has already been declared"
# (sphinx-thebe's inline script emitted twice by Sphinx 7.4; tools/sphinx_fixes.py).
ALLOWED_CONSOLE_ERRORS: list[tuple[re.Pattern, str]] = []

# Wait for MathJax (deferred script) to finish typesetting and for web fonts to load.
# (At most 20 s each: a promise that never settles must fail the test, not hang it.)
JS_SETTLE = """async () => {
  const within = (promise) => Promise.race([promise, new Promise(r => setTimeout(r, 20000))]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await within(MathJax.startup.promise);
  }
  await within(document.fonts.ready);
}"""

# Images that did not load. Lazy images are made eager and awaited first.
JS_BROKEN_IMAGES = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => {
    img.loading = "eager";
    if (img.complete) return null;
    return new Promise(done => {
      img.addEventListener("load", done);
      img.addEventListener("error", done);
      setTimeout(done, 10000);
    });
  }));
  return imgs.filter(i => i.naturalWidth === 0).map(i => i.currentSrc || i.src || i.outerHTML);
}"""

# Every .math element (Sphinx's inline and display math) must hold a typeset
# mjx-container, no leftover TeX and no TeX error.
JS_MATH = r"""() => {
  const raw = /\\[A-Za-z]+|\\[()\[\]]|\$\$/;
  const els = Array.from(document.querySelectorAll(".math"));
  const bad = [];
  let typeset = 0;
  for (const el of els) {
    const container = el.querySelector("mjx-container");
    const error = el.querySelector("mjx-merror");
    if (container) typeset++;
    const text = el.textContent;
    if (!container || error || raw.test(text)) {
      bad.push((error ? "TeX error: " + (error.getAttribute("data-mjx-error") || "") + " in " : "")
               + text.trim().slice(0, 120));
    }
  }
  const script = Array.from(document.scripts).find(s => /mathjax/i.test(s.src));
  return {
    count: els.length, typeset, bad,
    script: script ? script.src : null,
    version: window.MathJax && window.MathJax.version ? window.MathJax.version : null,
  };
}"""

# Prose (not code, not outputs, not math) that still shows TeX delimiters or $...$.
JS_RAW_TEX_IN_PROSE = r"""() => {
  const article = document.querySelector("article") || document.body;
  // #search-results: the search page quotes the pages' plain-text source, math included.
  const skip = "pre, code, script, style, .math, mjx-container, .highlight, .cell_output, "
               + ".output, #search-results";
  const pattern = /\$\$|\\\(|\\\[|\$[^\s$][^$]*\$/;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip)) continue;
    if (pattern.test(node.textContent)) found.push(node.textContent.trim().slice(0, 120));
  }
  return found;
}"""


# Pipe-table syntax in the rendered text: a line of cells followed by a |---| rule.
JS_RAW_TABLES = r"""() => {
  const article = document.querySelector("article") || document.body;
  const lines = article.innerText.split("\n").map(l => l.trim());
  const rule = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?$/;
  return lines.filter((l, i) => rule.test(l) && i > 0 && lines[i - 1].includes("|"))
              .map(l => l.slice(0, 80));
}"""

# Output blocks whose content is wider than the block (a horizontal scrollbar). Code cells
# may scroll, as code does in any book; what a cell prints must wrap.
JS_WIDE_BLOCKS = r"""() => {
  const found = [];
  const blocks = "article .cell_output pre, article .cell_output .text_html";
  for (const el of document.querySelectorAll(blocks)) {
    if (el.offsetParent === null) continue;  // folded (a closed dropdown): not on screen
    if (el.scrollWidth > el.clientWidth + 2) {
      found.push(`${el.scrollWidth}px in ${el.clientWidth}px: ` + el.innerText.trim().slice(0, 80));
    }
  }
  return found;
}"""

# Images whose alt text is missing, a file name or a path.
JS_BAD_ALT = r"""() => {
  const fileName = /(^|\/)[\w.-]+\.(png|jpe?g|svg|gif|webp)$/i;
  return Array.from(document.querySelectorAll("article img"))
    .filter(img => !img.alt || !img.alt.trim() || fileName.test(img.alt.trim()))
    .map(img => `${img.alt || "(no alt)"} (${img.currentSrc || img.src})`);
}"""


# The footer line of tools/build_info.py, if the page has one.
JS_BUILD_COMMIT = """() => {
  const el = document.querySelector(".build-commit");
  if (!el) return null;
  const link = el.querySelector("a");
  return {text: el.innerText, commit: el.dataset.commit, visible: el.checkVisibility(),
          href: link ? link.href : null};
}"""


@dataclass
class Visit:
    """What one page load left behind."""

    url: str
    final_url: str = ""
    blocked: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    math: dict = field(default_factory=dict)
    raw_tex: list[str] = field(default_factory=list)
    text: str = ""
    hrefs: list[str] = field(default_factory=list)
    search_results: list[str] = field(default_factory=list)
    build_commit: dict | None = None
    raw_tables: list[str] = field(default_factory=list)
    wide_blocks: list[str] = field(default_factory=list)
    bad_alt: list[str] = field(default_factory=list)

    def problems(self, min_text: int = 0) -> list[str]:
        out = [f"request to a non-local host (aborted): {u}" for u in self.blocked]
        out += [f"JavaScript error: {e}" for e in self.js_errors]
        out += [f"local request failed: {e}" for e in self.http_errors]
        out += [f"image did not load: {src}" for src in self.broken_images]
        out += [f"math not rendered: {m}" for m in self.math.get("bad", [])]
        if self.math.get("count"):
            script, base = self.math.get("script") or "", self.url
            if urlsplit(script).netloc != urlsplit(base).netloc:
                out.append(f"MathJax is not served by the book: {script!r}")
            if not str(self.math.get("version") or "").startswith("3."):
                out.append(f"MathJax 3 did not start (version {self.math.get('version')!r})")
            if self.math["typeset"] != self.math["count"]:
                out.append(f"{self.math['count']} math elements, {self.math['typeset']} typeset")
        out += [f"raw TeX or $ in the prose: {t!r}" for t in self.raw_tex]
        out += [f"markdown table shown as raw text: {t!r}" for t in self.raw_tables]
        out += [f"block wider than its column: {t!r}" for t in self.wide_blocks]
        out += [f"image alt text is missing or a file name: {t}" for t in self.bad_alt]
        if len(self.text) < min_text:
            out.append(f"page is (almost) empty: {len(self.text)} characters of text")
        return out


def _allowed(message: str) -> bool:
    return any(p.search(message) for p, _reason in ALLOWED_CONSOLE_ERRORS)


@pytest.fixture(scope="module")
def site():
    """(base URL, html dir) of the built book, served on 127.0.0.1 for this module."""
    require_chromium()
    html = ensure_book_built()
    with serve(html) as base:
        yield base, html


@pytest.fixture(scope="module")
def browser_context():
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as pw,
        chromium(pw, Path(profile), viewport={"width": 1280, "height": 900}) as context,
    ):
        context.set_default_timeout(30_000)
        yield context


@pytest.fixture(scope="module")
def visit(site, browser_context):
    """visit(path) -> Visit: open a page once (cached), with every check's raw data."""
    base, _ = site
    cache: dict[str, Visit] = {}

    def _visit(path: str, wait_for: str | None = None) -> Visit:
        if path in cache:
            return cache[path]
        v = Visit(url=urljoin(base, path))
        page = browser_context.new_page()
        v.blocked = guard_network(page).blocked
        page.on("pageerror", lambda exc: v.js_errors.append(f"uncaught: {exc}"))

        def on_console(msg) -> None:
            if msg.type == "error" and not _allowed(msg.text):
                v.js_errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

        page.on("console", on_console)
        page.on(
            "response",
            lambda r: v.http_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.on(
            "requestfailed",
            lambda r: (
                v.http_errors.append(f"{r.failure} {r.url}") if r.url not in v.blocked else None
            ),
        )
        try:
            page.goto(v.url, wait_until="load")
            if wait_for:
                page.wait_for_selector(wait_for, state="attached")
            page.evaluate(JS_SETTLE)
            page.wait_for_load_state("networkidle")
            v.final_url = page.url
            v.broken_images = page.evaluate(JS_BROKEN_IMAGES)
            v.math = page.evaluate(JS_MATH)
            v.raw_tex = page.evaluate(JS_RAW_TEX_IN_PROSE)
            v.text = (
                page.locator("article").first.inner_text()
                if page.locator("article").count()
                else page.inner_text("body")
            )
            v.hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
            v.search_results = page.eval_on_selector_all(
                "#search-results a[href]", "els => els.map(a => a.href)"
            )
            v.build_commit = page.evaluate(JS_BUILD_COMMIT)
            v.raw_tables = page.evaluate(JS_RAW_TABLES)
            v.wide_blocks = page.evaluate(JS_WIDE_BLOCKS)
            v.bad_alt = page.evaluate(JS_BAD_ALT)
        finally:
            page.close()
        cache[path] = v
        return v

    return _visit


PAGES = [f"{p}.html" for p in toc_pages()]


@pytest.mark.parametrize("path", PAGES)
def test_book_page_renders_offline_without_errors(visit, path: str) -> None:
    v = visit(path)
    assert v.problems(min_text=MIN_TEXT) == [], f"{path}:\n" + "\n".join(v.problems(MIN_TEXT))


def test_the_book_has_math_and_mathjax_renders_it_from_a_local_copy(site, visit) -> None:
    """At least one page has math; on every page, every math element was typeset."""
    _, html = site
    counts = {}
    for path in PAGES:
        in_source = len(re.findall(r'class="math[ "]', (html / path).read_text()))
        counts[path] = (in_source, visit(path).math.get("typeset", 0))
    assert sum(c for c, _ in counts.values()) > 0, "no page of the book has math"
    assert all(src == typeset for src, typeset in counts.values()), counts
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()


def test_index_redirects_to_the_front_page_which_names_the_commit(site, visit) -> None:
    base, _ = site
    root_doc = toc_pages()[0]
    v = visit("index.html", wait_for=".build-commit")
    assert v.final_url == urljoin(base, f"{root_doc}.html")
    assert v.problems(min_text=MIN_TEXT) == [], "\n".join(v.problems(MIN_TEXT))
    shown = v.build_commit
    assert shown and shown["visible"], "the front page does not say which commit it was built from"
    match = re.search(r"Built from commit ([0-9a-f]{12})\b", shown["text"])
    assert match, shown
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert shown["commit"] == head, (
        f"the book says it was built from {shown['commit'][:12]} but HEAD is {head[:12]}: "
        "rebuild it (make book-strict)"
    )
    assert head.startswith(match.group(1))
    assert shown["href"] == f"{CONFIG['repository']['url']}/commit/{head}"


def test_search_finds_a_chapter(site, visit) -> None:
    word = "backpropagation"
    _, html = site
    expected = {
        p for p in PAGES if word in (html / p).read_text().lower() and p != f"{toc_pages()[0]}.html"
    }
    assert expected, f"no chapter mentions {word!r}; pick another word for this test"
    v = visit(f"search.html?q={word}", wait_for="#search-results ul.search li a")
    assert v.problems() == [], "\n".join(v.problems())
    results = {urlsplit(h).path.lstrip("/") for h in v.search_results}
    assert results & expected, f"search for {word!r} found {sorted(results)}, not {expected}"


def test_search_page_and_general_index_load_cleanly(visit) -> None:
    for path in ["search.html", "genindex.html"]:
        v = visit(path)
        assert v.problems() == [], f"{path}:\n" + "\n".join(v.problems())


def _notebook_pages() -> list[str]:
    return [p for p in toc_pages() if (ROOT / f"{p}.ipynb").exists()]


def _expected_launch_links(docname: str) -> dict[str, str]:
    """The Colab and Binder links _config.yml's repository and launch_buttons imply."""
    repo, launch = CONFIG["repository"], CONFIG["launch_buttons"]
    org_repo = urlsplit(repo["url"]).path.strip("/")
    prefix = repo.get("path_to_book", "").strip("/")
    path = f"{prefix}/{docname}.ipynb" if prefix else f"{docname}.ipynb"
    ui = "lab/tree" if launch.get("notebook_interface") == "jupyterlab" else "tree"
    return {
        "Colab": f"{launch['colab_url']}/github/{org_repo}/blob/{repo['branch']}/{path}",
        "Binder": (
            f"{launch['binderhub_url']}/v2/gh/{org_repo}/{repo['branch']}?urlpath={ui}/{path}"
        ),
    }


@pytest.mark.parametrize("docname", _notebook_pages())
def test_every_chapter_links_to_colab_binder_and_its_notebook(site, visit, docname: str) -> None:
    base, html = site
    hrefs = visit(f"{docname}.html").hrefs
    for name, url in _expected_launch_links(docname).items():
        assert url in hrefs, f"no {name} link {url}"
    download = urljoin(base, f"_sources/{docname}.ipynb")
    assert download in hrefs, f"no download link {download}"
    notebook = json.loads((html / "_sources" / f"{docname}.ipynb").read_text())
    assert notebook["nbformat"] == 4


def test_launch_and_download_buttons_open_on_a_chapter(site, browser_context) -> None:
    """Clicking the rocket shows Colab and Binder; the download menu serves the .ipynb."""
    base, _ = site
    docname = _notebook_pages()[0]
    page = browser_context.new_page()
    blocked = guard_network(page).blocked
    try:
        page.goto(urljoin(base, f"{docname}.html"))
        page.click("button[aria-label='Launch interactive content']")
        for name, url in _expected_launch_links(docname).items():
            link = page.locator(".dropdown-launch-buttons a", has_text=name)
            assert link.is_visible(), f"no visible {name} button"
            assert link.get_attribute("href") == url
        page.keyboard.press("Escape")
        page.click("button[aria-label='Download this page']")
        download = page.locator("a.btn-download-source-button")
        assert download.is_visible(), "no visible download button"
        href = download.evaluate("a => a.href")
        assert href == urljoin(base, f"_sources/{docname}.ipynb")
        response = page.request.get(href)
        assert response.ok, f"{href}: {response.status}"
        assert json.loads(response.body())["nbformat"] == 4
    finally:
        page.close()
    assert blocked == []


def test_the_ledger_is_a_table_a_reader_can_filter_and_sort(site, browser_context) -> None:
    """The appendix's ledger is an HTML table, a row per verdict as the page counts them;
    _static/ledger.js adds filters by chapter and verdict and sortable columns."""
    base, _ = site
    page = browser_context.new_page()
    blocked = guard_network(page).blocked
    try:
        page.goto(urljoin(base, "book/A_evidence.html"))
        table = page.locator("table.ledger")
        assert table.count() == 1
        rows = table.locator("tbody tr")
        printed = re.search(r"(\d+) rows; claim parts", page.inner_text("article"))
        assert printed and rows.count() == int(printed.group(1)) > 40
        columns = ["claim", "verdict", "checked in", "evidence"]
        assert table.locator("thead th").all_inner_texts() == columns
        verdict = page.locator(".ledger-filters select[aria-label='verdict']")
        verdict.select_option("does not hold")
        shown = [r for r in rows.all() if r.is_visible()]
        assert 0 < len(shown) < rows.count()
        assert all(r.locator("td").nth(1).inner_text().startswith("does not hold") for r in shown)
        counted = page.locator(".ledger-count").inner_text()
        assert counted == f"{len(shown)} of {rows.count()} rows"
        verdict.select_option("")
        page.locator("table.ledger thead th", has_text="checked in").click()
        where = [r.locator("td").nth(2).inner_text() for r in rows.all()]
        runs = [w for i, w in enumerate(where) if i == 0 or w != where[i - 1]]
        assert len(runs) == len(set(where)) > 1, "sorting groups the rows by chapter"
    finally:
        page.close()
    assert blocked == []


def test_linkchecker_finds_no_broken_internal_link(site) -> None:
    """Every link, script, stylesheet and image reachable from index.html exists.

    Over the files (file:// URLs; the same tree the server serves, and ~5x faster than
    over HTTP). External links are only syntax-checked: the book is checked offline.
    Anchors are not checked here (linkchecker's AnchorCheck costs ~1 s per anchor);
    the strict book build already fails on a reference to a missing target.
    """
    _, built = site
    # linkchecker run as root drops its privileges to an unprivileged user, who cannot read
    # a clone in a directory only root may enter (``mktemp -d``). Check a world-readable
    # copy of the site instead, wherever the clone lives; the reached-page check below maps
    # its URLs back.
    with tempfile.TemporaryDirectory(prefix="linkchecker-") as tmp:
        os.chmod(tmp, 0o755)
        home, html = Path(tmp) / "home", Path(tmp) / "html"
        shutil.copytree(built, html)
        home.mkdir()
        for path in [home, html, *html.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        result = subprocess.run(
            [
                str(VENV_BIN / "linkchecker"),
                "--no-status",
                "--verbose",  # every URL, so the test can see it reached every page
                "--threads=4",
                "--output=text",
                "--ignore-url=^(?!file:)",
                str(html / "index.html"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            check=False,
        )
        reached_html = html.resolve()
    summary = re.search(
        r"(\d+) links? in (\d+) URLs? checked\. (\d+) warnings? found.*?(\d+) errors? found",
        result.stdout,
    )
    assert summary, result.stdout[-3000:] + result.stderr[-2000:]
    links, _urls, warnings, errors = map(int, summary.groups())
    assert (errors, warnings) == (0, 0), result.stdout[-6000:]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    reached = set(re.findall(r"^Real URL\s+(file://\S+)", result.stdout, re.M))
    unreached = [p for p in PAGES if (reached_html / p).as_uri() not in reached]
    assert unreached == [], f"linkchecker did not reach {unreached} from index.html ({links} links)"
