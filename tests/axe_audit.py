"""axe-core over every page of a built site, light and dark, in Debian's Chromium.

    python tests/axe_audit.py SITE OUT.json

The browser tests' audit (tests/test_browser.py reads OUT.json). tests/conftest.py starts it in
the background as soon as the book is built, on a copy of the site, so that it runs while the
single-threaded tests leave a core idle. OUT.json: {scheme: [record, ...]}, a record per page
and width: the page, the width, the rules run (null: every rule of AXE_TAGS), the violations,
the colour scheme the page was drawn in, and every request that left localhost and every
console error while it was open. Exit status 0 whatever axe finds; the tests judge.

At the phone width the theme moves the page's chrome (the header's buttons; the navigation and
the contents become dialogs) and the content reflows; colours and what content is shown do not
change with the width (the CSS's width breakpoints style the header and the sidebars only). So
at the phone width axe runs every rule on each page that is its own kind (the home page, the
back matter, search, the index: all small) and on one chapter, the one with the most kinds of
content (slides as grids that stack, a table that scrolls, the video, code, figures,
exercises): the chapters share one template. On every other chapter it runs the rules that
measure the reflowed layout: what scrolls sideways must be reachable by keyboard, and what is
clicked must be big enough or far enough apart. Those measure sizes and positions, which the
colour scheme does not change: they run in the light scheme only.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import sys
import threading
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from chromium import EXECUTABLE, FLAGS  # noqa: E402

WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SCHEMES = ["light", "dark"]
PHONE_CHAPTER = "what-is-pytorch"
LAYOUT_RULES = ["scrollable-region-focusable", "target-size"]  # axe refuses a name it does not know
SLOTS = (os.cpu_count() or 1) + 1  # pages at once (own renderer processes): one loads, the rest are audited
# Started, not awaited, so that the next page loads while this one is audited. At the phone
# width after the resize: the theme updates what scrolls 300 ms after a resize.
START = "([o, delay]) => { window.primerAxe = new Promise(r => setTimeout(r, delay)).then(() => axe.run(document, o)) }"
SUMMARY = """() => window.primerAxe.then(r => r.violations.map(v => (
  {id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map(n => n.target)})))"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    """FOLDER on a free port of 127.0.0.1: (its URL, the server, to shut down)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def pages(html: Path) -> list[str]:
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html"))


def phone_rules(path: str, scheme: str) -> list[str] | None | bool:
    """The rules axe runs on PATH at the phone width in SCHEME: None for every rule of AXE_TAGS,
    False for none."""
    every = not path.startswith("chapters/") or path == f"chapters/{PHONE_CHAPTER}.html"
    return None if every else LAYOUT_RULES if scheme == "light" else False


def new_context(browser, viewport: dict, scheme: str, **options):
    """A browser context of the colour scheme: the system's, and the theme's stored choice."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme, **options)
    if scheme == "dark":
        context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
    return context


def watch(page, site: str, outside: list, errors: list, seen: list | None = None) -> None:
    """PAGE's requests to SITE go through; the others are aborted and listed in OUTSIDE (every
    request in SEEN too); console errors and uncaught exceptions go to ERRORS."""

    def route(route):
        if seen is not None:
            seen.append(route.request.url)
        if route.request.url.startswith(site):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))


class Visit:
    """A page opened in a context of its own, watched (watch()): nothing leaves the site."""

    def __init__(self, browser, site: str, path: str, viewport: dict = WIDE, dark: bool = False, **options):
        self.context = new_context(browser, viewport, "dark" if dark else "light", **options)
        self.page = self.context.new_page()
        self.requests, self.outside, self.errors = [], [], []
        watch(self.page, site, self.outside, self.errors, self.requests)
        self.page.goto(f"{site}/{path}", wait_until="networkidle")

    def close(self):
        self.context.close()


def run_audit(paths: list[str], site: str, browser, scheme: str) -> list[dict]:
    """Every page loaded at the desktop width in one context of the scheme, audited with axe-core
    (violations only), then resized to the phone width and audited again (phone_rules); SLOTS
    pages at a time."""
    import axe_playwright_python

    script = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf8")
    context = new_context(browser, WIDE, scheme)
    context.set_default_timeout(180_000)  # it runs niced beside the tests: slow, not stuck
    results, running = [], deque()

    def start(page, record, delay=0):
        rules = record["rules"]
        run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
        page.evaluate(START, [{"runOnly": run_only, "resultTypes": ["violations"]}, delay])
        running.append((page, record))

    def finish():
        page, record = running.popleft()
        record["violations"] = page.evaluate(SUMMARY)
        record["theme"] = page.evaluate("document.documentElement.dataset.theme")
        results.append(record)
        rules = phone_rules(record["path"], scheme)
        if record["width"] == WIDE["width"] and rules is not False:
            page.set_viewport_size(NARROW)
            start(page, {**record, "width": NARROW["width"], "rules": rules}, delay=600)
        else:
            page.close()

    for path in paths:
        record = {"path": path, "width": WIDE["width"], "rules": None, "outside": [], "errors": []}
        page = context.new_page()
        watch(page, site, record["outside"], record["errors"])
        page.goto(f"{site}/{path}", wait_until="networkidle")
        page.evaluate(script)
        start(page, record)
        while len(running) >= SLOTS:
            finish()
    while running:
        finish()
    context.close()
    return results


def main(html: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(EXECUTABLE).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    site, server = serve(html)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=EXECUTABLE, args=list(FLAGS))
            audits = {scheme: run_audit(pages(html), site, browser, scheme) for scheme in SCHEMES}
            browser.close()
    finally:
        server.shutdown()
    out.write_text(json.dumps(audits, indent=1), encoding="utf8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
