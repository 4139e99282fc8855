"""The build: every chapter executes, the site is complete, nothing private is published."""

import json
import re

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
    # The chapters in the landing page's tables (_ext/primer_overview.py), the back matter in its toctree.
    toc = book.page("index.html").select("table.primer-chapters a.reference.internal, div.toctree-wrapper a.reference.internal")
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
    blocks the first paint, no Font Awesome script, a subset icon font, sized figures that load
    as the reader scrolls, none of them heavy."""
    for page in [book.html / "index.html", *(book.html / "chapters").glob("*.html")]:  # (search.html aside)
        soup = book.page(str(page.relative_to(book.html)))
        sheets = soup.select('link[rel="stylesheet"]')
        assert [s["href"].split("?")[0].rsplit("/", 1)[-1] for s in sheets] == ["primer-bundle.css"], page
        for script in soup.head.select("script[src]"):
            assert script.has_attr("defer") or script.has_attr("async"), (page, script["src"])
        assert not soup.select('script[src*="fontawesome"], script[src*="searchindex"]'), page
        for img in soup.select("div.cell_output img"):
            assert img.get("width") and img.get("height") and img.get("loading") == "lazy", (page, img["src"])
            size = (page.parent / img["src"]).stat().st_size
            assert size < 150_000, f"{page.name}: a {size // 1000} KB figure ({img['src']}): a photograph as JPEG?"
        assert soup.select_one('link[rel="icon"]')
    fonts = list((book.html / "_static").glob("primer-icons-*.woff2"))
    assert fonts and all(f.stat().st_size < 20_000 for f in fonts)
    assert not (book.html / "_static" / "scripts" / "fontawesome.js").exists()


def test_css_purge_keeps_every_rule_a_page_or_script_can_use():
    """_ext/primer_css.py: a rule goes only when a class or id it needs is in no page and no script."""
    import sys

    sys.path.insert(0, str(REPO / "_ext"))
    from primer_css import purge

    css = """
    /*! licence */
    /* ordinary comment */
    .used { color: red }
    .unused, .used > .also-used { margin: 0 }
    .unused .used { padding: 0 }
    #used-id, #gone-id { top: 0 }
    p:not(.unused) { color: blue }
    a[href$=".pdf"] { color: green }
    .bs-tooltip-top { left: 0 }
    @media (min-width: 960px) { .unused { display: none } .used { display: block } }
    @media print { .unused { display: none } }
    @font-face { font-family: "X"; src: url(x.woff2) }
    @keyframes spin { from { rotate: 0deg } }
    html[data-theme=dark] .used { color: white }
    """
    out = purge(css, {"used", "also-used", "used-id"})
    kept = re.sub(r"\s*([{}])\s*", r"\1", " ".join(out.split()))
    for rule in [".used{color: red}", ".used > .also-used{margin: 0}", "#used-id{top: 0}",
                 "p:not(.unused){color: blue}", 'a[href$=".pdf"]{color: green}', ".bs-tooltip-top{left: 0}",
                 "@media (min-width: 960px){.used{display: block}}", '@font-face{font-family: "X"',
                 "@keyframes spin{from{rotate: 0deg}}", "html[data-theme=dark] .used{color: white}"]:
        assert rule in kept, rule
    assert "/*! licence */" in out
    for gone in ["ordinary comment", ".unused,", ".unused .used", "#gone-id", "@media print", ".unused{display: none}"]:
        assert gone not in kept, gone
