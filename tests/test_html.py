"""The published HTML: valid, made light by one idempotent step, and built on checked workarounds.

- Every page passes the W3C Nu HTML Checker (vnu.jar, pinned in tools/vnu/package-lock.json).
- tools/postbuild.py over its own output changes nothing, and over a fresh copy of Sphinx's
  output it gives exactly the published site.
- No CSS rule the step dropped matches any element of any page: checked against the parsed
  pages (an index of their classes, ids and tags, then soupsieve for what the index cannot rule
  out), not by the code that dropped them.
- The version guard names the package, both versions and the workarounds to re-check.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import CHAPTERS, REPO

sys.path.insert(0, str(REPO / "_ext"))

import postbuild  # noqa: E402  (tools/, on the path from conftest)
import primer_guard  # noqa: E402
from primer_css import blocks, style_rules  # noqa: E402

VNU = REPO / "tools" / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def site_pages(html: Path) -> list[Path]:
    return postbuild.site_pages(html)


# -- Valid HTML ------------------------------------------------------------------------------

def test_every_page_is_valid_html(book):
    """The W3C Nu HTML Checker, once over every page: no errors (warnings are not counted)."""
    assert shutil.which("java"), \
        "Java is missing: the W3C checker runs on it; `make test` installs Debian's default-jre-headless"
    assert VNU.is_file(), "vnu.jar is missing: `make test` installs it (npm ci --prefix tools/vnu)"
    pages = site_pages(book.html)
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout",
                             *map(str, pages)], capture_output=True, text=True, timeout=600)
    messages = json.loads(result.stdout)["messages"]
    errors = [f"{Path(m['url'].removeprefix('file:')).relative_to(book.html)}:{m.get('lastLine', '?')}: "
              f"{m['message']}" for m in messages if m["type"] in ("error", "non-document-error")]
    assert not errors, f"{len(errors)} errors:\n" + "\n".join(errors[:40])
    assert len(pages) >= len(CHAPTERS) + 4  # the checker saw the whole site


def test_every_page_has_one_description_for_search_engines(book):
    """Lighthouse's SEO audit needs one: chapters and appendices from their front matter, the
    pages Sphinx generates (index, search) from conf.py."""
    for page in site_pages(book.html):
        descriptions = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser").select('meta[name="description"]')
        assert len(descriptions) == 1, f"{page.relative_to(book.html)}: {len(descriptions)} descriptions"
        assert 40 <= len(descriptions[0]["content"]) <= 160, page.relative_to(book.html)


def test_hidden_cells_toggles_are_labelled_by_what_they_show(book):
    """_ext/primer.py visit_hide_cell: <span> labels in the <summary> (a <p> may not be there),
    and no aria-label that would replace the visible label for screen readers."""
    toggles = 0
    for slug in CHAPTERS:
        for summary in book.chapter(slug).select("details.hide > summary"):
            toggles += 1
            assert not summary.has_attr("aria-label"), (slug, summary)
            assert [s.name for s in summary.find_all(recursive=False)] == ["span", "span"], (slug, summary)
            assert summary.select_one("span.collapsed").get_text(strip=True).startswith("Show"), slug
    assert toggles >= len(CHAPTERS)


# -- The post-build step -----------------------------------------------------------------------

def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_postbuild_over_its_own_output_changes_nothing(book, tmp_path):
    site = tmp_path / "html"
    shutil.copytree(book.html, site)
    assert postbuild.run(site)["rewritten"] == 0
    match, mismatch, errors = filecmp.cmpfiles(book.html, site, list(tree(book.html)), shallow=False)
    assert not mismatch and not errors, mismatch + errors


def test_postbuild_over_sphinx_output_gives_the_published_site_every_time(book, tmp_path):
    """Run on a fresh copy of Sphinx's output (as tools/publish.py copies it), then again: the
    first run gives exactly the published files, the second changes none of them."""
    import publish

    staging = book.builddir / "staging" / "html"
    assert staging.is_dir(), f"{staging}: Sphinx's output folder, which make html keeps"
    site = tmp_path / "html"
    shutil.copytree(staging, site, ignore=publish.unpublished)
    assert postbuild.run(site)["rewritten"] > len(CHAPTERS)
    first = tree(site)
    assert postbuild.run(site)["rewritten"] == 0
    assert tree(site) == first
    published = tree(book.html)
    different = sorted(name for name in first.keys() | published.keys()
                       if first.get(name) != published.get(name))
    assert not different, different[:20]


def test_the_step_stops_when_the_theme_no_longer_loads_font_awesome_as_it_did(tmp_path):
    (tmp_path / "_static").mkdir()
    css = '.fa-sun{--fa:"\\f185"}\n@font-face{font-family:X;src:url(fonts/x.woff2)}'
    with pytest.raises(postbuild.PostBuildError, match="no @font-face rule loads Font Awesome"):
        postbuild.subset_icon_fonts(tmp_path, css)
    with pytest.raises(postbuild.PostBuildError, match="no glyph for: \\['moon'\\]"):
        postbuild.drop_unused_icon_rules(css, {"sun", "moon"})


# -- The CSS the step dropped ------------------------------------------------------------------

# Pseudo-elements, and pseudo-classes that depend on the reader (hover, focus, links visited)
# or the browser: soupsieve cannot evaluate them. Removing them widens a selector, so a widened
# selector that matches nothing shows that the original matched nothing either.
DYNAMIC = re.compile(
    r"::?(?:before|after|marker|placeholder|selection|backdrop|first-letter|first-line|file-selector-button"
    r"|-webkit-[\w-]+|-moz-[\w-]+|-ms-[\w-]+)(?:\([^()]*\))?"
    r"|:(?:hover|focus|focus-visible|focus-within|active|visited|target|autofill|invalid|valid|indeterminate"
    r"|placeholder-shown|user-invalid|popover-open|modal|fullscreen|open|closed)\b(?![\w-])"
)
def compounds(selector: str) -> list[tuple[str, str]]:
    """A complex selector as (combinator before it, compound selector) pairs, split outside
    brackets and parentheses."""
    parts, combinator, current, depth = [], "", "", 0
    for ch in selector.strip():
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if depth == 0 and (ch.isspace() or ch in ">+~"):
            if current:
                parts.append((combinator, current))
                combinator, current = "", ""
            if ch in ">+~":
                combinator = ch
            elif not combinator:
                combinator = " "
            continue
        current += ch
    parts.append((combinator, current))
    return parts


def widened(selector: str) -> str:
    """SELECTOR without what soupsieve cannot evaluate; a compound left empty becomes `*`.
    (Inside :not() that would narrow the selector instead: such a selector is not widened.)"""
    out = ""
    for combinator, compound in compounds(selector):
        if ":not(" in compound and DYNAMIC.search(compound):
            raise ValueError(f"cannot widen {selector!r}")
        compound = re.sub(r":[\w-]+\(\s*\)", "", DYNAMIC.sub("", compound)) or "*"
        out += f"{combinator if combinator == ' ' else f' {combinator} ' if combinator else ''}{compound}"
    return out


def subject(selector: str) -> str:
    """The last compound selector: the element the selector picks."""
    return compounds(selector)[-1][1]


def required(compound: str) -> tuple[set[str], set[str]]:
    """The classes and ids an element needs to match COMPOUND, ignoring what is in brackets."""
    flat = re.sub(r"\([^()]*\)|\[[^\]]*\]", "", compound)
    name = r"((?:\\.|[\w-])+)"
    unescape = lambda s: re.sub(r"\\(.)", r"\1", s)  # noqa: E731
    return ({unescape(c) for c in re.findall(r"\." + name, flat)},
            {unescape(i) for i in re.findall(r"#" + name, flat)})


class Page:
    """A parsed page, its elements indexed by class, id and tag for a quick first test."""

    def __init__(self, name: str, html: str):
        self.name = name
        self.elements = BeautifulSoup(html, "html.parser").find_all(True)
        self.index: dict[str, set[int]] = {}
        for i, el in enumerate(self.elements):
            keys = [f".{c}" for c in el.get("class", [])] + [el.name] + ([f"#{el['id']}"] if el.get("id") else [])
            for key in keys:
                self.index.setdefault(key, set()).add(i)

    def candidates(self, compound: str) -> set[int]:
        """The elements that have every class, id and the tag COMPOUND names (outside brackets):
        all that can match it, and usually far fewer."""
        classes, ids = required(DYNAMIC.sub("", compound))
        tag = re.match(r"[a-zA-Z][\w-]*", compound)
        keys = [f".{c}" for c in classes] + [f"#{i}" for i in ids] + ([tag.group(0).lower()] if tag else [])
        if not keys:
            return set(range(len(self.elements)))
        return set.intersection(*(self.index.get(k, set()) for k in keys))

    def may_match(self, selector: str) -> bool:
        """False when some compound of SELECTOR can match no element here. (Never wrong to say True.)"""
        return all(self.candidates(compound) for _, compound in compounds(selector))


def matches(pages: list[Page], selectors: list[str]) -> tuple[list[str], list[str]]:
    """(selectors that match an element of some page, with where; selectors soupsieve cannot
    read). Soupsieve decides for every element that the index cannot rule out."""
    import soupsieve

    found, unreadable = [], []
    for selector in selectors:
        candidates = [p for p in pages if p.may_match(selector)]
        if not candidates:
            continue
        try:
            compiled = soupsieve.compile(widened(selector))
        except Exception:  # soupsieve's SelectorSyntaxError, or what widened() will not widen
            unreadable.append(selector)
            continue
        for page in candidates:
            hit = next((page.elements[i] for i in sorted(page.candidates(subject(selector)))
                        if compiled.match(page.elements[i])), None)
            if hit is not None:
                found.append(f"{selector!r} matches {str(hit)[:100]!r} in {page.name}")
                break
    return found, unreadable


def test_the_css_check_finds_a_dropped_rule_that_matches():
    """The check below can fail: a rule dropped although an element matches it is found."""
    page = Page("fixture.html", '<div class="a" id="top"><p class="b">x</p><a href="#" class="c">y</a></div>')
    found, _ = matches([page], [".a .b", "#top > .c:hover", ".a > .c::before", ".missing", ".a .missing",
                                "p.b:not(.b)", ".b + .c"])
    assert [f.split(" matches")[0] for f in found] == ["'.a .b'", "'#top > .c:hover'", "'.a > .c::before'",
                                                       "'.b + .c'"]


def test_no_css_rule_the_step_dropped_matches_an_element(book):
    """Every rule of the stylesheets the pages linked, less those in the published bundle, is
    matched against every page's elements (soupsieve): none may match. The bundle keeps rules for
    classes the scripts add at run time too, which static pages cannot show."""
    bundle = (book.html / postbuild.BUNDLE).read_text(encoding="utf8")
    sources = postbuild.bundle_sources(bundle)
    assert sources and all((book.html / s).is_file() for s in sources), sources
    full = postbuild.concatenate(book.html, sources)
    kept = {(context, selector) for context, selector, _ in style_rules(bundle)}
    every = {(context, selector) for context, selector, _ in style_rules(full)}
    dropped = sorted(selector for context, selector in every - kept)
    assert len(dropped) > 1000 and len(kept) > 300, (len(dropped), len(kept))
    assert kept <= every, sorted(kept - every)[:10]  # nothing made up
    pages = [Page(str(p.relative_to(book.html)), p.read_text(encoding="utf8")) for p in site_pages(book.html)]
    found, unreadable = matches(pages, dropped)
    assert not found, f"{len(found)} dropped rules match elements:\n" + "\n".join(found[:20])
    assert len(unreadable) < 20, unreadable
    # What is kept: the book's own rules, all of them (their classes are in pages or in
    # primer.js), and no more than half of the CSS the pages linked.
    own = {(context, selector) for context, selector, _ in
           style_rules((book.html / "_static" / "primer.css").read_text(encoding="utf8"))}
    assert own <= kept, sorted(own - kept)
    assert len(bundle.encode()) < sum((book.html / s).stat().st_size for s in sources) / 2


def test_icon_font_faces_point_at_the_subsets(book):
    bundle = (book.html / postbuild.BUNDLE).read_text(encoding="utf8")
    faces = [prelude + body for prelude, body in blocks(bundle) if prelude.startswith("@font-face")]
    fonts = re.findall(r"url\(([^)]+)\)", " ".join(faces))
    assert fonts and all(re.fullmatch(r"primer-icons-[\w-]+\.woff2", f) for f in fonts), fonts
    assert all((book.html / "_static" / f).stat().st_size < 20_000 for f in fonts)


# -- Workarounds and their guard ---------------------------------------------------------------

def test_version_guard_names_package_versions_and_workarounds():
    installed = dict(primer_guard.WRITTEN_AGAINST, **{"pydata-sphinx-theme": "0.21.0", "myst-nb": None})
    messages = primer_guard.version_mismatches(installed)
    assert len(messages) == 2
    theme, nb = messages
    assert theme.startswith("pydata-sphinx-theme is 0.21.0") and "pydata-sphinx-theme 0.20.0" in theme
    assert "fontawesome.js" in theme and "pydata/pydata-sphinx-theme#2379" in theme
    assert nb.startswith("myst-nb is not installed") and "visit_hide_cell" in nb
    assert primer_guard.version_mismatches(primer_guard.WRITTEN_AGAINST) == []


def test_the_installed_versions_are_those_the_workarounds_were_written_against():
    assert primer_guard.version_mismatches(primer_guard.installed_versions()) == []


def test_version_guard_stops_the_build(monkeypatch):
    monkeypatch.setattr(primer_guard, "installed_versions", lambda: dict(primer_guard.WRITTEN_AGAINST, sphinx="9.1.0"))
    with pytest.raises(SystemExit, match="version guard"):
        primer_guard.check_versions(None)


def test_every_workaround_names_files_that_exist_and_an_upstream_issue():
    assert primer_guard.WORKAROUNDS.keys() == primer_guard.WRITTEN_AGAINST.keys()
    reports = (REPO / "docs" / "upstream-reports.md").read_text(encoding="utf8")
    for package, workarounds in primer_guard.WORKAROUNDS.items():
        for text in workarounds:
            for path in re.findall(r"(?:_ext|_static|_templates|tools|docs)/[\w./-]+\.\w+", text):
                assert (REPO / path).is_file(), (package, path)
            assert re.search(r"[\w-]+/[\w.-]+#\d+|docs/upstream-reports\.md", text), text
    assert "could not be filed from here" in " ".join(reports.split())


def test_template_blocks_lose_only_what_they_name():
    from primer import ThemeChanged, without_assets

    block = ('  <script defer src="../_static/scripts/fontawesome.js?digest=1"></script>\n'
             '  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js?digest=1" />\n'
             '  <script src="searchindex.js"></script>\n')
    assert without_assets(block, "fontawesome.js", "searchindex.js") == \
        '  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js?digest=1" />\n'
    with pytest.raises(ThemeChanged, match="removes language_data.js from a block"):
        without_assets(block, "language_data.js")
