"""Shared fixtures: the book is built once per test session, from scratch, into a temporary folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))  # the project's shared helpers: chromium, repo_copy
MAKE = ["make", "--no-print-directory", "-f", str(REPO / "Makefile")]


def toctree_chapters() -> list[str]:
    """The chapters the book lists, in order, read from index.md's toctree."""
    text = (REPO / "index.md").read_text()
    block = re.search(r"```\{toctree\}\n(.*?)```", text, re.S).group(1)
    return [line.strip().removeprefix("chapters/") for line in block.splitlines()
            if line.strip().startswith("chapters/")]


CHAPTERS = toctree_chapters()


def run_make(target: str, builddir: Path, cwd: Path = REPO, timeout: int = 1800, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MAKE, "-C", str(cwd), target, f"BUILDDIR={builddir}"],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **env},
    )


def fixture_book(dest: Path) -> Path:
    """A tiny book (tests/fixtures/book) with this book's own conf.py, extensions and assets."""
    shutil.copytree(REPO / "tests" / "fixtures" / "book", dest)
    for name in ["conf.py", "references.bib"]:
        shutil.copy(REPO / name, dest / name)
    for name in ["_ext", "_static", "_templates"]:
        shutil.copytree(REPO / name, dest / name)
    return dest


@dataclass
class Build:
    builddir: Path
    output: str
    fresh: bool = True  # built from an empty folder (always, except with BOOK_TEST_REUSE)

    @property
    def html(self) -> Path:
        return self.builddir / "html"

    def page(self, name: str) -> BeautifulSoup:
        return BeautifulSoup((self.html / name).read_text(encoding="utf8"), "html.parser")

    def chapter(self, slug: str) -> BeautifulSoup:
        return self.page(f"chapters/{slug}.html")


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Build:
    """A clean `make html` of the whole book (fresh cache: every chapter executes).

    For quick iteration on the tests alone, BOOK_TEST_REUSE=DIR builds into DIR instead and
    keeps it between runs (so only what changed executes). CI never sets it.

    BOOK_TEST_BUILT=DIR tests a finished build made from an empty folder, `make pdf html` into
    DIR with its output in DIR/build.log, and builds nothing: CI builds once, tests that build
    and publishes it (.github/workflows/book.yml).
    """
    built = os.environ.get("BOOK_TEST_BUILT")
    if built:
        builddir = Path(built).resolve()
        log = builddir / "build.log"
        assert log.is_file() and (builddir / "html" / "index.html").is_file(), \
            f"BOOK_TEST_BUILT={built}: no finished build there (`make pdf html`, its output in build.log)"
        return Build(builddir, log.read_text(encoding="utf8"))
    reuse = os.environ.get("BOOK_TEST_REUSE")
    builddir = Path(reuse).resolve() if reuse else tmp_path_factory.mktemp("book") / "_build"
    setup = run_make("venv", builddir)  # pip's own chatter stays out of the build's output
    assert setup.returncode == 0, setup.stdout + setup.stderr
    result = run_make("html", builddir)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make html failed:\n{output[-6000:]}"
    return Build(builddir, output, fresh=not reuse)


@pytest.fixture(scope="session")
def pdf(book) -> Path:
    """`make pdf` into the same build folder (the cache is warm: nothing executes again); with
    BOOK_TEST_BUILT, the PDF that build made."""
    path = book.builddir / "latex" / "pytorch-primer.pdf"
    if os.environ.get("BOOK_TEST_BUILT"):
        assert path.is_file(), f"{path} is missing: BOOK_TEST_BUILT needs `make pdf html`"
        return path
    result = run_make("pdf", book.builddir)
    assert result.returncode == 0, f"make pdf failed:\n{(result.stdout + result.stderr)[-6000:]}"
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def pdf_text(pdf) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: install poppler-utils (make test does)"
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def heading_text(h) -> str:
    """A heading's words, without its section number and permalink sign."""
    text = re.sub(r"\s+", " ", h.get_text(" ")).strip().rstrip("#¶").strip()
    return re.sub(r"^[\d.]+\s*", "", text)
