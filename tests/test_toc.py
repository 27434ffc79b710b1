"""Every page of book/ is in _toc.yml, and every _toc.yml entry is a real page."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGE_SUFFIXES = (".md", ".ipynb")


def toc_entries() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(items):
        for item in items or []:
            if "file" in item:
                found.append(item["file"])
            walk(item.get("sections"))
            walk(item.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return found


def resolve(entry: str) -> Path | None:
    for suffix in PAGE_SUFFIXES:
        path = ROOT / f"{entry}{suffix}"
        if path.exists():
            return path
    return None


def test_every_toc_entry_exists() -> None:
    missing = [e for e in toc_entries() if resolve(e) is None]
    assert missing == []


def test_every_page_in_book_is_in_the_toc() -> None:
    listed = {resolve(e) for e in toc_entries()}
    pages = {p for p in (ROOT / "book").rglob("*") if p.suffix in PAGE_SUFFIXES}
    pages = {p for p in pages if ".ipynb_checkpoints" not in p.parts}
    assert sorted(map(str, pages - listed)) == []


def test_no_page_is_a_placeholder() -> None:
    for entry in toc_entries():
        path = resolve(entry)
        text = path.read_text()
        if path.suffix == ".ipynb":
            cells = json.loads(text)["cells"]
            text = "\n".join("".join(c["source"]) for c in cells)
        lowered = text.lower()
        assert "coming soon" not in lowered and "todo" not in lowered, path
        assert len(text.split()) > 150, f"{path} is too short to be a real page"


def test_chapter_titles_carry_the_number_the_text_uses() -> None:
    """The text says "chapter 4" for book/04_*.ipynb; its title (the sidebar entry) starts
    "4. ", and every "chapter N" in the book names a chapter that exists."""
    import re

    numbers = set()
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "markdown")
        title = "".join(first["source"]).splitlines()[0]
        number = int(path.name[:2])
        numbers.add(number)
        assert title.startswith(f"# {number}. "), f"{path.name}: title {title!r}"
    for path in sorted((ROOT / "book").glob("*")):
        if path.suffix not in PAGE_SUFFIXES:
            continue
        text = path.read_text()
        if path.suffix == ".ipynb":
            cells = json.loads(text)["cells"]
            text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        cited = {int(n) for n in re.findall(r"\b[Cc]hapters? (\d+)", text)}
        cited |= {int(n) for n in re.findall(r"\b[Cc]hapters \d+ (?:and|or|to) (\d+)", text)}
        assert cited <= numbers, f"{path.name} cites chapters {sorted(cited - numbers)}"
