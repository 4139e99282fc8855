"""The built site in a real browser (Debian's Chromium driven by Playwright).

axe-core over every page, light and dark, at the desktop width, and at the phone width where the
layout differs; the grids' layout; search; no request leaves localhost while a page loads; no
console errors.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest

from axe_audit import NARROW, PHONE_CHAPTER, WIDE, QuietHandler, Visit
from axe_audit import pages as site_pages
from chromium import EXECUTABLE as CHROMIUM
from chromium import FLAGS
from conftest import CHAPTERS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(book):
    handler = functools.partial(QuietHandler, directory=str(book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), \
        "Chromium is missing: `make test` installs Debian's chromium package"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(FLAGS))
        yield browser
        browser.close()


def pages(book) -> list[str]:
    return site_pages(book.html)


@pytest.fixture(scope="module")
def audits(book, background) -> dict[str, list[dict]]:
    """tests/axe_audit.py's records by colour scheme: axe-core over every page at the desktop
    width, and at the phone width where the layout differs (its docstring says which rules
    where). It starts in the background as soon as the book is built."""
    status, output = background.audit(book).result()
    assert status == 0, f"tests/axe_audit.py failed:\n{output[-6000:]}"
    return json.loads((background.folder / "audit.json").read_text(encoding="utf8"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_any_page(book, audits, scheme):
    problems = []
    records = audits[scheme]
    assert {r["path"] for r in records} == set(pages(book))
    phone = {r["path"] for r in records if r["width"] == NARROW["width"] and r["rules"] is None}
    assert f"chapters/{PHONE_CHAPTER}.html" in phone, f"every rule at the phone width on {sorted(phone)} alone"
    for r in records:
        assert r["theme"] == scheme, f"{r['path']} @{r['width']}px is drawn {r['theme']}"
        rules = "" if r["rules"] is None else f" ({', '.join(r['rules'])})"
        for v in r["violations"]:
            problems.append(f"{r['path']} @{r['width']}px{rules}: {v['id']} ({v['impact']}): {v['help']} {v['targets']}")
    assert not problems, "\n".join(problems)


def test_no_request_leaves_localhost_and_no_console_error(audits):
    """On every page axe visits, in both schemes, at both widths."""
    for record in [*audits["light"], *audits["dark"]]:
        where = f"{record['path']} @{record['width']}px"
        assert not record["outside"], f"{where} requested {record['outside']}"
        assert not record["errors"], f"{where} console: {record['errors']}"


def test_grids_are_two_columns_wide_and_stack_on_a_phone(site, browser):
    for viewport, side_by_side in ((WIDE, True), (NARROW, False)):
        visit = Visit(browser, site, "chapters/what-is-pytorch.html", viewport)
        rows = visit.page.locator("div.sd-row")
        assert rows.count() >= 2
        for i in range(2):
            cols = rows.nth(i).locator(":scope > div.sd-col")
            assert cols.count() == 2
            a, b = cols.nth(0).bounding_box(), cols.nth(1).bounding_box()
            if side_by_side:
                assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"] - 2
            else:
                assert b["y"] >= a["y"] + a["height"] - 2 and abs(a["x"] - b["x"]) < 2
        visit.close()


@pytest.mark.parametrize("dark", [False, True])
def test_code_without_token_spans_keeps_its_colours(book, site, browser, dark):
    """Python blocks have no spans for the tokens their Pygments style draws as plain text
    (_ext/primer.py unwrap_plain_tokens), and that text is drawn in the style's text colour, as
    the spans were; a keyword keeps its own."""
    from pygments.styles import get_style_by_name
    from pygments.token import STANDARD_TYPES, Text

    style = get_style_by_name("a11y-high-contrast-dark" if dark else "a11y-high-contrast-light")
    rgb = lambda hex6: "rgb({}, {}, {})".format(*(int(hex6[i:i + 2], 16) for i in (0, 2, 4)))  # noqa: E731
    page = f"chapters/{CHAPTERS[0]}.html"
    blocks = book.page(page).select('div[class^="highlight-ipython3"] pre')
    assert blocks and not any(b.select("span.n, span.p") for b in blocks)
    visit = Visit(browser, site, page, dark=dark)
    pre, span, short = visit.page.evaluate("""() => {
      const pre = document.querySelector('div[class^="highlight-ipython3"] pre');
      const span = pre.querySelector('span[class]');
      return [getComputedStyle(pre).color, getComputedStyle(span).color, span.className];
    }""")
    token = next(t for t, name in STANDARD_TYPES.items() if name == short)
    assert (pre, span) == (rgb(style.style_for_token(Text)["color"]), rgb(style.style_for_token(token)["color"]))
    visit.close()


def test_search_finds_chapter_one_for_autograd(site, browser):
    visit = Visit(browser, site, "search.html?q=autograd")
    visit.page.wait_for_selector("#search-results ul.search li a", timeout=15000)
    hrefs = visit.page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert any("chapters/what-is-pytorch.html" in h for h in hrefs), hrefs
    visit.close()


def test_one_search_field_on_a_wide_screen_and_a_search_button_on_a_phone(site, browser):
    """The theme's header, with a second search field, is gone (conf.py: navbar_persistent); a
    phone keeps the magnifying glass at the top of the page, which opens a search that works."""
    searches = "input[type=search], .search-button__button"
    for path in ("index.html", f"chapters/{CHAPTERS[0]}.html"):
        visit = Visit(browser, site, path, WIDE)
        assert visit.page.locator(f"{searches} >> visible=true").count() == 1, path
        visit.close()
    visit = Visit(browser, site, "index.html", NARROW)
    button = visit.page.locator(f"{searches} >> visible=true")
    assert button.count() == 1
    button.click()
    field = visit.page.locator("#pst-search-dialog input[type=search]")
    field.wait_for(state="visible", timeout=5000)
    field.fill("autograd")
    field.press("Enter")
    visit.page.wait_for_url("**/search.html?q=autograd*", timeout=15000)
    assert not visit.outside and not visit.errors, visit.outside + visit.errors
    visit.close()


def test_video_loads_only_after_a_click(site, browser):
    visit = Visit(browser, site, "chapters/what-is-pytorch.html")
    assert visit.page.locator("iframe").count() == 0
    assert not visit.outside
    button = visit.page.locator(".video-facade button")
    assert "Play video" in button.inner_text()
    button.click()
    frame = visit.page.locator("iframe.video-facade-frame")
    frame.wait_for()
    assert frame.get_attribute("src").startswith("https://www.youtube-nocookie.com/embed/oBklltKXtDE")
    assert frame.get_attribute("title")
    visit.close()


def test_hidden_solution_opens_on_click(site, browser):
    visit = Visit(browser, site, f"chapters/{CHAPTERS[0]}.html")
    details = visit.page.locator("details.sd-dropdown", has_text="Solution to Exercise 1").first
    body = details.locator(".sd-summary-content")
    assert not body.is_visible()
    details.locator("summary").click()
    assert body.is_visible()
    visit.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_first_visit_is_drawn_in_the_readers_colour_scheme(site, browser, scheme):
    """The head picks light or dark before anything is drawn (no flash of the other theme, and
    no second styling of the whole page when the theme's script runs)."""
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    page.route("**/*.js*", lambda route: route.abort())  # only the inline scripts in <head> run
    page.goto(f"{site}/chapters/{CHAPTERS[0]}.html")
    assert page.evaluate("[document.documentElement.dataset.mode, document.documentElement.dataset.theme]") \
        == ["auto", scheme]
    context.close()


def test_sidebar_buttons_open_the_navigation_and_contents(site, browser):
    """On a phone the visible buttons open the site navigation and the page's contents as
    dialogs; on a wide screen the navigation button folds the sidebar away."""
    visit = Visit(browser, site, f"chapters/{CHAPTERS[0]}.html", NARROW)
    page = visit.page
    for kind, dialog in (("primary", "#pst-primary-sidebar-modal"), ("secondary", "#pst-secondary-sidebar-modal")):
        page.locator(f"button.{kind}-toggle >> visible=true").click()
        page.wait_for_selector(f"{dialog}[open]", timeout=5000)
        links = page.locator(f"{dialog} a")
        assert links.count() >= 5, kind
        assert links.first.is_visible(), kind
        page.keyboard.press("Escape")
        page.wait_for_selector(f"{dialog}:not([open])", state="attached", timeout=5000)
    assert not visit.errors, visit.errors
    visit.close()

    visit = Visit(browser, site, f"chapters/{CHAPTERS[0]}.html", WIDE)
    sidebar = visit.page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    visit.page.locator("button.primary-toggle >> visible=true").click()
    visit.page.wait_for_function("document.querySelector('#pst-primary-sidebar').classList.contains('pst-sidebar-hidden')")
    visit.close()
