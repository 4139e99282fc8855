"""The digits model in the page (_ext/primer_demo.py, _static/digits-demo.js).

The site carries the model this build exported and ONNX Runtime Web as the lock pins it; the
page loads neither until the reader opens the demo; then, in Chromium, the self-test passes, the
test images and what is drawn with the keyboard, the mouse and a finger give the predictions that
ONNX Runtime (Python) computes from the same file, axe finds nothing, and no request leaves the
site. Every expected value comes from the build's own files, none is written here.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from axe_audit import AXE_TAGS, NARROW, WIDE, Visit, serve
from chromium import EXECUTABLE, FLAGS
from conftest import REPO

sys.path.insert(0, str(REPO / "_ext"))

import primer_demo  # noqa: E402

CHAPTER = "chapters/saving-and-exporting.html"
DIST = REPO / "tools" / "demo" / "node_modules" / "onnxruntime-web" / "dist"
SELF_TEST = re.compile(
    r"Self-test: the browser's outputs match PyTorch's for (\d+) test digits "
    r"\(largest difference ([0-9.e+-]+)\)\."
)


def executed_chapter(book, slug: str):
    """The chapter's executed notebook in the build's cache (conftest.executed_notebooks, for one)."""
    from jupyter_cache import get_cache

    from execute import conf_value, read_notebook

    cache = get_cache(str(book.builddir / ".jupyter_cache"))
    notebook = read_notebook(
        REPO / "chapters" / f"{slug}.md", conf_value("myst_enable_extensions", REPO / "conf.py")
    )
    return cache.get_cache_bundle(cache.match_cache_notebook(notebook).pk).nb


def demo_files(book) -> tuple[bytes, dict]:
    folder = book.html / primer_demo.FOLDER
    return (folder / primer_demo.MODEL).read_bytes(), json.loads((folder / primer_demo.DATA).read_text())


@pytest.fixture(scope="module")
def reference(book):
    """ONNX Runtime (Python) over the site's model: probabilities for any 8x8 grid of pixels."""
    import onnxruntime as ort

    model, data = demo_files(book)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])

    def probabilities(pixels) -> np.ndarray:
        logits = session.run(None, {data["input"]: np.asarray(pixels, dtype=np.float32).reshape(-1, 64)})[0]
        e = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return probabilities


# -- The files and the markup ----------------------------------------------------------------


def test_the_site_carries_the_model_this_build_exported(book, reference):
    """The model and the test digits are the chapter's executed output, and they agree: ONNX
    Runtime gives PyTorch's probabilities for the five digits. No local path is published."""
    model, data = demo_files(book)
    nb = executed_chapter(book, "saving-and-exporting")
    glued = [
        out["data"][primer_demo.MIME]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if primer_demo.MIME in out.get("data", {})
    ]
    assert len(glued) == 1
    assert base64.b64decode(glued[0]["model"]) == model
    assert glued[0]["digits"] == data["digits"]
    assert len(data["digits"]) == 5 and len({d["label"] for d in data["digits"]}) == 5
    pytorch = np.array([d["probabilities"] for d in data["digits"]])
    assert np.abs(reference([d["pixels"] for d in data["digits"]]) - pytorch).max() <= 1e-5
    assert b"site-packages" not in model and str(REPO).encode() not in model


def test_the_site_carries_the_runtime_the_lock_pins(book):
    lock = json.loads((REPO / "tools" / "demo" / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/onnxruntime-web"]["version"]
    assert json.loads((DIST.parent / "package.json").read_text())["version"] == version
    folder = book.html / primer_demo.FOLDER
    for source, target in primer_demo.RUNTIME.items():
        assert (folder / target).read_bytes() == (DIST / source).read_bytes(), target
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*primer_demo.RUNTIME.values(), primer_demo.MODEL, primer_demo.DATA]
    )
    demo = book.page(CHAPTER).select_one("details.digits-demo")
    assert demo["data-runtime"].endswith(f"?v={version}") and demo["data-wasm"].endswith(f"?v={version}")


def test_the_demo_markup_and_its_script_are_on_its_page_only(book):
    _, data = demo_files(book)
    page = book.page(CHAPTER)
    demo = page.select_one("details.digits-demo")
    assert demo is not None and not demo.has_attr("open")
    cells = demo.select("button.digits-demo-cell")
    assert [c["aria-label"] for c in cells] == [
        f"Row {r}, column {c}" for r in range(1, 9) for c in range(1, 9)
    ]
    assert all(c["aria-pressed"] == "false" for c in cells)
    assert [c["tabindex"] for c in cells].count("0") == 1
    loads = demo.select("button.digits-demo-load")
    assert [b.get_text() for b in loads] == [str(d["label"]) for d in data["digits"]]
    assert demo.select_one(".digits-demo-top")["aria-live"] == "polite"
    # Only data attributes name the demo's files: the page itself loads none of them.
    html = (book.html / CHAPTER).read_text(encoding="utf8")
    assert not re.search(r'(?:src|href)="[^"]*demo/', html)
    assert len(page.select(f'script[src*="{primer_demo.SCRIPT}"][defer]')) == 1
    others = [
        p
        for p in book.html.rglob("*.html")
        if p != book.html / CHAPTER and primer_demo.SCRIPT in p.read_text(encoding="utf8")
    ]
    assert not others, others


def test_a_missing_runtime_stops_the_build_saying_how_to_install_it(tmp_path):
    from sphinx.errors import ExtensionError

    with pytest.raises(
        ExtensionError,
        match=r"not installed \(missing: .*ort\.wasm\.bundle\.min\.mjs.*\): `make html` installs it "
        r"\(npm ci --prefix tools/demo",
    ):
        primer_demo.runtime_files(tmp_path)


# -- In Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(book):
    url, server = serve(book.html)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(EXECUTABLE).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=EXECUTABLE, args=list(FLAGS))
        yield chromium
        chromium.close()


class DemoPage(Visit):
    """The chapter in its own browser context with a mouse and a finger, every request recorded
    (those that would leave the site are aborted), console errors too; `open()` opens the demo
    and waits for its self-test."""

    def __init__(self, browser, site, dark=False):
        super().__init__(browser, site, CHAPTER, WIDE, dark, has_touch=True)
        self.demo = self.page.locator("details.digits-demo")
        self.status = self.demo.locator(".digits-demo-status")

    def open(self) -> re.Match:
        self.demo.locator("summary").click()
        self.page.wait_for_function(  # passed, failed, or could not start
            "/^(Self-test|The demo could not)/.test(document.querySelector('.digits-demo-status').textContent)",
            timeout=60_000,
        )
        return SELF_TEST.fullmatch(self.status.inner_text())

    def cell(self, index: int):
        return self.demo.locator(f'.digits-demo-cell[data-index="{index}"]')

    def inked(self) -> list[int]:
        return self.page.eval_on_selector_all(
            ".digits-demo-cell",
            "cells => cells.flatMap((c, i) => c.getAttribute('aria-pressed') === 'true' ? [i] : [])",
        )

    def settle(self):
        """Wait until the page shows the prediction for the grid as it is now (the script counts
        the pixels changed, and marks the list of guesses with the count it was made for)."""
        self.page.wait_for_function(
            "d => d.dataset.changes === d.querySelector('.digits-demo-top').dataset.changes",
            arg=self.demo.element_handle(),
            timeout=10_000,
        )

    def guesses(self) -> list[tuple[int, float]]:
        """The top three for the grid as it is now."""
        self.settle()
        found = self.page.eval_on_selector_all(
            ".digits-demo-guess",
            "els => els.map(e => [Number(e.dataset.digit), Number(e.dataset.probability)])",
        )
        assert len(found) == 3, found
        return [(int(d), p) for d, p in found]

    def clear(self):
        self.demo.locator(".digits-demo-clear").click()
        self.settle()
        assert self.inked() == [] and self.demo.locator(".digits-demo-top .digits-demo-empty").count() == 1



def top_three(probabilities: np.ndarray) -> list[tuple[int, float]]:
    order = np.argsort(-probabilities, kind="stable")[:3]
    return [(int(d), float(probabilities[d])) for d in order]


def assert_same_prediction(shown: list[tuple[int, float]], expected: list[tuple[int, float]]):
    assert [d for d, _ in shown] == [d for d, _ in expected], (shown, expected)
    assert max(abs(p - q) for (_, p), (_, q) in zip(shown, expected, strict=True)) <= 1e-5, (shown, expected)


@pytest.fixture(scope="module")
def opened(browser, site):
    """The chapter at the desktop width, light: the requests before the demo was opened, then the
    demo opened, with what its self-test said."""
    page = DemoPage(browser, site)
    page.page.wait_for_timeout(500)  # nothing is fetched later either
    before = list(page.requests)
    said = page.open()
    yield page, before, said
    page.close()


@pytest.mark.browser
def test_the_first_load_fetches_neither_the_runtime_nor_the_model(opened):
    page, before, _ = opened
    names = [*primer_demo.RUNTIME.values(), primer_demo.MODEL, primer_demo.DATA]
    assert any(primer_demo.SCRIPT in url for url in before)
    assert not [url for url in before if any(name in url for name in names)]
    after = page.requests[len(before) :]
    for name in names:
        assert any(f"/{primer_demo.FOLDER}/{name}" in url for url in after), name


@pytest.mark.browser
def test_the_self_test_passes_and_no_request_leaves_the_site(opened, book):
    page, _, said = opened
    _, data = demo_files(book)
    assert said, page.status.inner_text()
    assert int(said.group(1)) == len(data["digits"])
    assert float(said.group(2)) <= 1e-5
    assert float(page.demo.get_attribute("data-largest-difference")) <= 1e-5
    assert not page.outside and not page.errors, (page.outside, page.errors)


@pytest.mark.browser
def test_the_test_images_give_pytorchs_probabilities(opened, book):
    page, _, _ = opened
    _, data = demo_files(book)
    for i, digit in enumerate(data["digits"]):
        page.demo.locator(".digits-demo-load").nth(i).click()
        shown = page.guesses()
        assert_same_prediction(shown, top_three(np.array(digit["probabilities"])))
        assert shown[0][0] == int(np.argmax(digit["probabilities"]))
    assert not page.errors, page.errors


def known_digit(book, reference) -> tuple[int, list[int]]:
    """A test digit drawn in black and white (pixels of at least half ink inked) that the model
    still recognises: its label and the pixels to ink."""
    _, data = demo_files(book)
    for digit in data["digits"]:
        inked = [i for i, v in enumerate(digit["pixels"]) if v >= 0.5]
        grid = np.zeros(64)
        grid[inked] = 1
        if int(np.argmax(reference(grid)[0])) == digit["label"]:
            return digit["label"], inked
    raise AssertionError("no test digit is recognised in black and white")


@pytest.mark.browser
def test_a_digit_drawn_with_the_keyboard_is_recognised(opened, book, reference):
    """Tab stop on the first pixel; arrows and Home move, Space inks."""
    page, _, _ = opened
    label, inked = known_digit(book, reference)
    page.clear()
    page.cell(0).focus()
    keys = page.page.keyboard
    for row in range(8):
        for col in range(8):
            if row * 8 + col in inked:
                keys.press("Space")
            if col < 7:
                keys.press("ArrowRight")
        keys.press("ArrowDown")
        keys.press("Home")
    assert page.inked() == inked
    grid = np.zeros(64)
    grid[inked] = 1
    shown = page.guesses()
    assert shown[0][0] == label
    assert_same_prediction(shown, top_three(reference(grid)[0]))
    # Space again on a pixel rubs it out.
    focused = page.cell(inked[0])
    focused.focus()
    keys.press("Space")
    assert focused.get_attribute("aria-pressed") == "false"


@pytest.mark.browser
def test_strokes_drawn_with_the_mouse_ink_and_rub_out_and_a_finger_inks(opened, reference):
    page, _, _ = opened
    page.clear()
    mouse = page.page.mouse

    def centre(index):
        box = page.cell(index).bounding_box()
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def stroke(cells):
        mouse.move(*centre(cells[0]))
        mouse.down()
        for index in cells[1:]:
            mouse.move(*centre(index), steps=4)
        mouse.up()

    stroke([3, 59])  # down the fourth column: a one
    column = list(range(3, 64, 8))
    assert page.inked() == column
    stroke([4, 7])  # along the top, right of the stroke
    stroke([27, 31])  # a stroke that starts on ink rubs out
    expected = sorted({*column, 4, 5, 6, 7} - {27, 28, 29, 30, 31})
    assert page.inked() == expected
    grid = np.zeros(64)
    grid[expected] = 1
    assert_same_prediction(page.guesses(), top_three(reference(grid)[0]))
    # A tap with a finger inks a pixel too.
    page.cell(0).tap()
    assert page.inked() == [0, *expected]


def axe_violations(page: DemoPage) -> list[str]:
    """axe-core over the opened demo, a test image loaded, at the desktop and the phone width."""
    import axe_playwright_python

    page.demo.locator(".digits-demo-load").first.click()
    page.guesses()
    page.page.evaluate(
        (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf8")
    )
    problems = []
    for viewport in (WIDE, NARROW):
        page.page.set_viewport_size(viewport)
        page.page.wait_for_timeout(400)  # the theme reacts to a resize
        found = page.page.evaluate(
            "o => axe.run(document.querySelector('details.digits-demo'), o).then(r => r.violations.map("
            "v => `${v.id}: ${v.help} ${v.nodes.slice(0, 3).map(n => n.target).join(' ')}`))",
            {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        problems += [f"@{viewport['width']}px {v}" for v in found]
    page.page.set_viewport_size(WIDE)
    return problems


@pytest.mark.browser
def test_axe_finds_nothing_in_the_opened_demo_light(opened):
    page, _, _ = opened
    assert page.page.evaluate("document.documentElement.dataset.theme") == "light"
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    assert not page.outside and not page.errors, (page.outside, page.errors)


@pytest.mark.browser
def test_axe_finds_nothing_in_the_opened_demo_dark(browser, site):
    page = DemoPage(browser, site, dark=True)
    assert page.open()
    assert page.page.evaluate("document.documentElement.dataset.theme") == "dark"
    problems = axe_violations(page)
    assert not problems, "\n".join(problems)
    assert not page.outside and not page.errors, (page.outside, page.errors)
    page.close()
