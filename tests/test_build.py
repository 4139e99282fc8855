"""The build: every chapter executes, the site is complete, nothing private is published."""

import json

from conftest import CHAPTERS, REPO


def test_every_chapter_executes_in_a_clean_build(book):
    for slug in CHAPTERS:
        if book.fresh:
            assert f"Executing chapters/{slug}.md" in book.output
            assert f"Executed  chapters/{slug}.md in " in book.output
        else:  # BOOK_TEST_REUSE: unchanged chapters come from the cache
            assert f"chapters/{slug}.md" in book.output


def test_build_has_no_warnings(book):
    assert "WARNING" not in book.output
    assert "ERROR" not in book.output


def test_index_lists_every_chapter_in_order(book):
    toc = book.page("index.html").select("div.toctree-wrapper a.reference.internal")
    hrefs = [a["href"] for a in toc if a["href"].startswith("chapters/")]
    assert hrefs == [f"chapters/{slug}.html" for slug in CHAPTERS]
    assert "reports.html" in [a["href"] for a in toc]  # the execution report, after the chapters
    for slug in CHAPTERS:
        assert (book.html / "chapters" / f"{slug}.html").is_file()


def test_no_execution_reports_or_sources_are_published(book):
    assert not (book.html / "reports").exists()
    assert not list(book.html.rglob("*.err.log"))
    assert not (book.html / "_sources").exists()
    assert not (book.builddir / "html.new").exists() and not (book.builddir / "html.old").exists()


def test_no_page_shows_an_error_or_stderr_output(book):
    for page in book.html.rglob("*.html"):
        soup = book.page(str(page.relative_to(book.html)))
        assert not soup.select(".output.error, .output.traceback, .output.stderr"), page
        assert "Traceback (most recent call last)" not in soup.get_text(), page


def test_every_code_cell_has_run(book):
    """Each chapter's cells carry outputs from this build (the cache holds execution times)."""
    for slug in CHAPTERS:
        soup = book.chapter(slug)
        assert soup.select("div.cell"), slug
        assert soup.select("div.cell_output"), f"{slug}: no executed output"
    cache = book.builddir / ".jupyter_cache"
    assert cache.is_dir()


def test_template_chapter_is_not_published(book):
    assert (REPO / "chapters" / "_template.md").is_file()
    assert not (book.html / "chapters" / "_template.html").exists()


def test_search_index_covers_every_chapter(book):
    text = (book.html / "searchindex.js").read_text()
    data = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    assert {f"chapters/{s}" for s in CHAPTERS} <= set(data["docnames"])


def test_pages_are_light(book):
    """What keeps pages fast (make bench measures the result): one stylesheet, no script that
    blocks the first paint, no Font Awesome script, a subset icon font, sized figures."""
    for page in [book.html / "index.html", *(book.html / "chapters").glob("*.html")]:  # (search.html aside)
        soup = book.page(str(page.relative_to(book.html)))
        sheets = soup.select('link[rel="stylesheet"]')
        assert [s["href"].split("?")[0].rsplit("/", 1)[-1] for s in sheets] == ["primer-bundle.css"], page
        for script in soup.head.select("script[src]"):
            assert script.has_attr("defer") or script.has_attr("async"), (page, script["src"])
        assert not soup.select('script[src*="fontawesome"], script[src*="searchindex"]'), page
        for img in soup.select("div.cell_output img"):
            assert img.get("width") and img.get("height"), (page, img["src"])
        assert soup.select_one('link[rel="icon"]')
    fonts = list((book.html / "_static").glob("primer-icons-*.woff2"))
    assert fonts and all(f.stat().st_size < 20_000 for f in fonts)
    assert not (book.html / "_static" / "scripts" / "fontawesome.js").exists()
