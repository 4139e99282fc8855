"""The built site in a real browser (Debian's Chromium driven by Playwright).

axe-core over every page, light and dark, wide and narrow; the grids' layout; search; no request
leaves localhost while a page loads; no console errors.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from chromium import EXECUTABLE as CHROMIUM
from chromium import FLAGS
from conftest import CHAPTERS

WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


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
    return sorted(str(p.relative_to(book.html)) for p in book.html.rglob("*.html"))


class Visit:
    """A page opened with every request and console error recorded; nothing leaves localhost."""

    def __init__(self, browser, site, path, viewport=WIDE, dark=False):
        self.context = browser.new_context(viewport=viewport, color_scheme="dark" if dark else "light")
        if dark:
            self.context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
        self.page = self.context.new_page()
        self.outside, self.errors = [], []

        def route(route):
            if route.request.url.startswith(site):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        self.page.route("**/*", route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{site}/{path}", wait_until="networkidle")

    def close(self):
        self.context.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_axe_finds_no_violation_on_any_page(book, site, browser, dark):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    problems = []
    for path in pages(book):
        for viewport in (WIDE, NARROW):
            visit = Visit(browser, site, path, viewport, dark)
            if dark:
                assert visit.page.evaluate("document.documentElement.dataset.theme") == "dark"
            result = axe.run(visit.page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
            for v in result.response["violations"]:
                targets = [n["target"] for n in v["nodes"]][:3]
                problems.append(f"{path} @{viewport['width']}px: {v['id']} ({v['impact']}): {v['help']} {targets}")
            visit.close()
    assert not problems, "\n".join(problems)


def test_no_request_leaves_localhost_and_no_console_error(book, site, browser):
    for path in pages(book):
        visit = Visit(browser, site, path)
        assert not visit.outside, f"{path} requested {visit.outside}"
        assert not visit.errors, f"{path} console: {visit.errors}"
        visit.close()


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


def test_search_finds_chapter_one_for_autograd(site, browser):
    visit = Visit(browser, site, "search.html?q=autograd")
    visit.page.wait_for_selector("#search-results ul.search li a", timeout=15000)
    hrefs = visit.page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert any("chapters/what-is-pytorch.html" in h for h in hrefs), hrefs
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


STYLE_HASHES = """() => {
  // One FNV-1a hash per element and pseudo-element of every computed property (custom ones too).
  const hashes = [];
  for (const el of document.querySelectorAll("*")) {
    for (const pseudo of [null, "::before", "::after"]) {
      const style = getComputedStyle(el, pseudo);
      const names = Array.from(style).sort();  // custom properties come in no fixed order
      let h = 2166136261;
      for (const name of names) {
        const text = name + ":" + style.getPropertyValue(name) + ";";
        for (let j = 0; j < text.length; j++) h = Math.imul(h ^ text.charCodeAt(j), 16777619);
      }
      hashes.push(h >>> 0);
    }
  }
  return hashes;
}"""
STYLE_OF = """([n]) => {
  const el = document.querySelectorAll("*")[Math.floor(n / 3)];
  const style = getComputedStyle(el, [null, "::before", "::after"][n % 3]);
  const out = {"element": el.outerHTML.slice(0, 120)};
  for (let i = 0; i < style.length; i++) out[style[i]] = style.getPropertyValue(style[i]);
  return out;
}"""


@pytest.mark.parametrize("path", ["chapters/what-is-pytorch.html", "search.html?q=tensor"])
def test_dropping_unused_css_changes_no_computed_style(book, site, browser, path):
    """The site ships only the CSS rules its pages and scripts can use (_ext/primer_css.py). With
    the whole of the themes' CSS instead, every element must be styled exactly the same, light and
    dark, wide and narrow."""
    full = (book.builddir / "staging" / "primer-bundle.full.css").read_text(encoding="utf8")
    for viewport, dark in ((WIDE, False), (NARROW, True)):
        styles = []
        for swap in (False, True):
            context = browser.new_context(viewport=viewport, color_scheme="dark" if dark else "light",
                                          reduced_motion="reduce")
            page = context.new_page()
            if swap:
                page.route("**/primer-bundle.css*", lambda route: route.fulfill(body=full, content_type="text/css"))
            page.goto(f"{site}/{path}", wait_until="networkidle")
            if path.startswith("search"):
                page.wait_for_selector("#search-results ul.search li a", timeout=15000)
            page.wait_for_timeout(300)
            hashes = page.evaluate(STYLE_HASHES)
            styles.append((hashes, page, context))
        (a, page_a, ctx_a), (b, page_b, ctx_b) = styles
        assert len(a) == len(b), f"{path}: the page has a different number of elements"
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        if differ:
            x, y = page_a.evaluate(STYLE_OF, [differ[0]]), page_b.evaluate(STYLE_OF, [differ[0]])
            changed = {k: (x.get(k), y.get(k)) for k in x.keys() | y.keys() if x.get(k) != y.get(k)}
            pytest.fail(f"{path} @{viewport['width']}px {'dark' if dark else 'light'}: {len(differ)} elements "
                        f"styled differently without the dropped rules; first: {changed}")
        ctx_a.close()
        ctx_b.close()


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
