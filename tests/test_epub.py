"""The EPUB (`make epub`): valid by EPUBCheck, every chapter in order with its figures and its
executed outputs, readable without the web's folding, and nothing loaded from the network."""

import posixpath
import re
import subprocess
import zipfile
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup

from conftest import CHAPTERS, executed_notebooks, heading_text, normalise, run_make

pytestmark = pytest.mark.epub

OPF = "{http://www.idpf.org/2007/opf}"  # the namespace of content.opf
EPUBCHECK = ["java", "-jar", "/usr/share/java/epubcheck.jar"]  # as the Makefile runs it
REMOVED = {"remove-cell", "remove-output"}  # tags of cells whose outputs no page shows
REMOTE = re.compile(r"^\s*(https?:)?//", re.I)
IMAGES = (b"\x89PNG", b"\xff\xd8\xff")  # what a PNG and a JPEG start with
EMBEDS = ["img", "link", "iframe", "source", "audio", "video", "object", "embed", "image"]


@pytest.fixture(scope="module")
def package(epub) -> dict:
    """The EPUB unpacked in memory: its files, and the reading order (the spine) as file names."""
    with zipfile.ZipFile(epub) as book:
        files = {name: book.read(name) for name in book.namelist()}
    opf = ElementTree.fromstring(files["content.opf"])
    hrefs = {item.get("id"): item.get("href") for item in opf.iter(f"{OPF}item")}
    spine = [hrefs[ref.get("idref")] for ref in opf.iter(f"{OPF}itemref")]
    return {"files": files, "spine": spine}


def page(package: dict, name: str) -> BeautifulSoup:
    return BeautifulSoup(package["files"][name].decode("utf-8"), "html.parser")


def test_epubcheck_finds_no_errors(epub):
    result = subprocess.run([*EPUBCHECK, str(epub)], capture_output=True, text=True, timeout=300)
    report = result.stdout + result.stderr
    counts = re.search(r"Messages: (\d+) fatals / (\d+) errors / (\d+) warnings", report)
    assert counts, report[-3000:]
    assert result.returncode == 0 and counts[1] == counts[2] == "0", report[-6000:]


def test_epub_has_every_chapter_in_reading_order_with_its_title(book, package):
    chapters = [name for name in package["spine"] if name.startswith("chapters/")]
    assert chapters == [f"chapters/{slug}.xhtml" for slug in CHAPTERS]
    for slug in CHAPTERS:
        title = heading_text(book.chapter(slug).select_one("article h1"))
        h1 = page(package, f"chapters/{slug}.xhtml").select_one("h1")
        assert h1 is not None and normalise(heading_text(h1)) == normalise(title), slug


def test_epub_has_every_chapter_figure(book, package):
    """Each figure a chapter's web page shows (a cell's image output) is in the EPUB, as a PNG
    (a plot) or a JPEG (a photograph)."""
    with_figures = 0
    for slug in CHAPTERS:
        on_web = book.chapter(slug).select("div.cell_output img")
        name = f"chapters/{slug}.xhtml"
        images = page(package, name).select("div.cell_output img")
        assert len(images) == len(on_web), f"{slug}: {len(images)} figures, the web page has {len(on_web)}"
        for image in images:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(name), image["src"]))
            assert package["files"].get(path, b"").startswith(IMAGES), f"{slug}: {image['src']}"
            assert image.get("alt"), f"{slug}: a figure without alt text"
        with_figures += bool(on_web)
    assert with_figures >= len(CHAPTERS) // 2


def test_epub_shows_the_executed_outputs(book, package):
    """Every chapter shows what its cells printed when the book was built (read from the
    execution cache, the outputs the web pages show too)."""
    executed = executed_notebooks(book.builddir / ".jupyter_cache")
    assert set(executed) == set(CHAPTERS)
    for slug, (nb, _) in executed.items():
        lines = []
        for cell in nb.cells:
            if cell.cell_type != "code" or REMOVED & set(cell.metadata.get("tags", [])):
                continue
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                lines += [normalise(line) for line in text.splitlines() if len(line.strip()) >= 8]
        assert lines, f"{slug}: no printed output in the cache"
        shown = normalise(page(package, f"chapters/{slug}.xhtml").get_text(" "))
        assert any(line in shown for line in lines), f"{slug}: no executed output in the EPUB"


def test_epub_shows_solutions_and_code_the_web_folds(book, package):
    """An e-reader may not fold: the solutions are open, a hidden solution cell's code is shown,
    and a hide-input cell's figure is printed without its code (as in the PDF)."""
    for slug in CHAPTERS:
        web, epub = book.chapter(slug), page(package, f"chapters/{slug}.xhtml")
        solutions = epub.select("details.solution")
        assert len(solutions) == len(web.select("details.solution")) > 0, slug
        assert all(s.has_attr("open") for s in solutions), slug
        hidden = epub.select("div.cell.tag_hide-cell")
        assert hidden and all(c.select_one("div.cell_input pre") for c in hidden), slug
        assert not any(c.select_one("div.cell_input") for c in epub.select("div.cell.tag_hide-input")), slug
        assert not epub.select("summary span.collapsed"), slug  # no web toggle


def test_epub_shows_the_video_as_a_link(package):
    files = package["files"]
    videos = [
        name for name, data in files.items() if name.endswith(".xhtml") and b"youtube.com/watch" in data
    ]
    assert videos
    for name in videos:
        soup = page(package, name)
        assert "Video:" in soup.get_text() and not soup.select("button, iframe"), name


def test_epub_loads_nothing_from_the_network(package):
    """No script at all; images, styles, frames and media only from inside the EPUB (links to
    the web are fine: the reader follows one only if they choose to)."""
    checked = 0
    for name, data in package["files"].items():
        if name.endswith(".xhtml"):
            soup = BeautifulSoup(data.decode("utf-8"), "html.parser")
            assert not soup.find_all("script"), name
            for tag in soup.find_all(EMBEDS):
                for attribute in ("src", "href", "data", "srcset", "poster", "xlink:href"):
                    assert not REMOTE.match(tag.get(attribute) or ""), f"{name}: {tag}"
            checked += 1
        elif name.endswith(".css"):
            css = data.decode("utf-8")
            assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:)?//", css, re.I), name
    assert checked > len(CHAPTERS)


def test_site_links_to_the_epub_once_it_is_built(book, epub):
    result = run_make("html", book.builddir)  # the EPUB exists now: the site picks it up
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Executing" not in result.stdout  # nothing runs again for it
    assert (book.html / "pytorch-primer.epub").read_bytes() == epub.read_bytes()
    target = (book.html / "pytorch-primer.epub").resolve()
    for name in ["index.html", *(f"chapters/{s}.html" for s in CHAPTERS)]:
        link = book.page(name).select_one("a.btn-download-book-epub-button")
        assert link is not None, name
        assert (book.html / name).parent.joinpath(link["href"]).resolve() == target, name
