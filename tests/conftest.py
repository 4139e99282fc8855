"""Shared fixtures: the book is built once per test session, from scratch, into a temporary folder.

Tiers (pytest.ini registers the markers): `make check` runs every test not marked `browser`
(Chromium), `pdf` (TeX Live), `epub` (EPUBCheck) or `slow` (executes chapters again), on an
incremental build; `make test` runs them all on a clean build.

Work that only some tests need and that takes long, the PDF, the EPUB, a second execution of
every chapter (the notebooks a reader downloads, tests/run_notebooks.py) and the accessibility
audit (tests/axe_audit.py), starts in the background as
soon as the book is built, when a selected test needs it;
the test that needs it waits for it. Those tests run after the others, the audit's last
(`pytest_collection_modifyitems`), so the background work overlaps the single-threaded rest. No
test depends on another having run: each fixture starts its work itself when nothing has.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))  # the project's shared helpers: chromium, repo_copy
sys.path.insert(0, str(REPO / "chapters"))  # primer_check: the exercises' checks
MAKE = ["make", "--no-print-directory", "-f", str(REPO / "Makefile")]


def toctree_chapters() -> list[str]:
    """The chapters the book lists, in order, read from index.md's toctrees (one per part)."""
    text = (REPO / "index.md").read_text()
    blocks = re.findall(r"```\{toctree\}\n(.*?)```", text, re.S)
    return [line.strip().removeprefix("chapters/") for block in blocks for line in block.splitlines()
            if line.strip().startswith("chapters/")]


CHAPTERS = toctree_chapters()


def stop(process: subprocess.Popen) -> None:
    """End PROCESS and what it started in its session (make's recipes, execute.py's workers)."""
    if process.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


def run_make(target: str, builddir: Path, cwd: Path = REPO, timeout: int = 1800, **env) -> subprocess.CompletedProcess:
    """`make TARGET` in CWD. Stopped whole when the test is (a timeout, Ctrl-C)."""
    process = subprocess.Popen([*MAKE, "-C", str(cwd), target, f"BUILDDIR={builddir}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **env}, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        stop(process)
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def fixture_book(dest: Path) -> Path:
    """A tiny book (tests/fixtures/book) with this book's own conf.py, extensions and assets."""
    shutil.copytree(REPO / "tests" / "fixtures" / "book", dest)
    for name in ["conf.py", "references.bib", "requirements-reader.txt"]:
        shutil.copy(REPO / name, dest / name)
    for name in ["_ext", "_static", "_templates", "tools/reader"]:
        shutil.copytree(REPO / name, dest / name)
    shutil.copy(REPO / "tools" / "execute.py", dest / "tools")  # _ext/primer_notebooks.py reads chapter_inputs
    shutil.copy(REPO / "chapters" / "primer_check.py", dest / "chapters")  # exercises' checks (_ext reads it)
    return dest


@dataclass
class Build:
    builddir: Path
    output: str
    fresh: bool = True  # built from an empty folder (always, except with BOOK_TEST_REUSE)
    parsed: dict = field(default_factory=dict, repr=False)

    @property
    def html(self) -> Path:
        return self.builddir / "html"

    def page(self, name: str) -> BeautifulSoup:
        """The page NAME, parsed once per content of the file (a later build, such as the PDF's,
        publishes the site again) and shared by the tests: copy.copy() it before changing it."""
        text = (self.html / name).read_text(encoding="utf8")
        if text not in self.parsed:
            self.parsed[text] = BeautifulSoup(text, "html.parser")
        return self.parsed[text]

    def chapter(self, slug: str) -> BeautifulSoup:
        return self.page(f"chapters/{slug}.html")


# -- Background work -------------------------------------------------------------------------

class Job:
    """A command running beside the tests; its output (stdout and stderr) goes to LOG."""

    def __init__(self, args: list[str], log: Path):
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                            start_new_session=True)

    def result(self) -> tuple[int, str]:
        """Wait for it: (exit status, output)."""
        try:
            status = self.process.wait()
        except BaseException:
            stop(self.process)
            raise
        return status, self.log.read_text(encoding="utf8", errors="replace")


class Background:
    """The session's jobs by name, each started once; what is still running at the end is stopped."""

    def __init__(self, folder: Path):
        self.folder, self.jobs = folder, {}

    def start(self, name: str, args: list[str], nice: int = 0) -> Job:
        """NICE > 0: the job yields the CPU to the tests (they run one at a time, the job fills
        the idle cores), for a job with no time limit of its own to miss."""
        if name not in self.jobs:
            self.jobs[name] = Job(["nice", "-n", str(nice), *args], self.folder / f"{name}.log")
        return self.jobs[name]

    def pdf(self, book: Build) -> Job:
        """`make pdf` into the book's build folder (the cache is warm: nothing executes again)."""
        return self.start("pdf", [*MAKE, "-C", str(REPO), "pdf", f"BUILDDIR={book.builddir}"], nice=10)

    def epub(self, book: Build) -> Job:
        """`make epub` into the book's build folder, EPUBCheck included (nothing executes again)."""
        return self.start("epub", [*MAKE, "-C", str(REPO), "epub", f"BUILDDIR={book.builddir}"], nice=10)

    def second_execution(self, book: Build) -> Job:
        """Every chapter executed again, independently of the build: each notebook a reader
        downloads, alone in an empty folder (tests/run_notebooks.py, with the build's kernel
        settings). Not niced: each cell has its time limit (conf.py)."""
        return self.start("second_execution", [sys.executable, str(REPO / "tests" / "run_notebooks.py"),
                                               str(book.builddir), str(self.folder / "readers")])

    def audit(self, book: Build) -> Job:
        """tests/axe_audit.py (axe-core in Chromium) over a copy of the site as built: a later
        test publishes the site again, with the PDF."""
        site = self.folder / "site"
        if "audit" not in self.jobs:
            shutil.copytree(book.html, site)
        return self.start("audit", [sys.executable, str(REPO / "tests" / "axe_audit.py"), str(site),
                                    str(self.folder / "audit.json")], nice=10)


@pytest.fixture(scope="session")
def background(tmp_path_factory):
    jobs = Background(tmp_path_factory.mktemp("background"))
    yield jobs
    for job in jobs.jobs.values():
        stop(job.process)


def pytest_collection_modifyitems(items):
    """File order, but the browser tests after the others (the book's build then shows as the
    setup of test_build.py's first test), then the tests that wait for background work (the
    PDF's, the EPUB's, the determinism and downloaded-notebook tests), the audit's last. So the
    background work runs while the tests, one at a time, leave a core idle, and what is left at
    the end is background work that fills both cores. Nothing depends on this order."""
    def rank(item) -> int:
        if "audits" in item.fixturenames:
            return 3
        if {"pdf", "epub", "second_execution"} & set(item.fixturenames):
            return 2
        return 1 if item.get_closest_marker("browser") else 0
    items.sort(key=rank)


# -- The book --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def book(request, tmp_path_factory, background) -> Build:
    """A clean `make html` of the whole book (fresh cache: every chapter executes).

    BOOK_TEST_REUSE=DIR builds into DIR instead and keeps it between runs, so that only what
    changed executes (`make check` sets it to the author's build folder). CI never sets it.

    BOOK_TEST_BUILT=DIR tests a finished build made from an empty folder, `make pdf epub html`
    into DIR with its output in DIR/build.log, and builds nothing: CI builds once, tests that
    build and publishes it (.github/workflows/book.yml).

    Then the background work the selected tests need starts: the PDF, the EPUB, a second
    execution, the accessibility audit.
    """
    built = os.environ.get("BOOK_TEST_BUILT")
    if built:
        builddir = Path(built).resolve()
        log = builddir / "build.log"
        assert log.is_file() and (builddir / "html" / "index.html").is_file(), \
            f"BOOK_TEST_BUILT={built}: no finished build there (`make pdf epub html`, its output in build.log)"
        build = Build(builddir, log.read_text(encoding="utf8"))
    else:
        reuse = os.environ.get("BOOK_TEST_REUSE")
        builddir = Path(reuse).resolve() if reuse else tmp_path_factory.mktemp("book") / "_build"
        setup = run_make("venv", builddir)  # pip's own chatter stays out of the build's output
        assert setup.returncode == 0, setup.stdout + setup.stderr
        # An up-to-date build would print nothing; without its stamp every chapter is checked
        # against the cache and Sphinx writes what changed (tests read that output).
        (builddir / ".html-built").unlink(missing_ok=True)
        result = run_make("html", builddir)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"make html failed:\n{output[-6000:]}"
        build = Build(builddir, output, fresh=not reuse)
    wanted = {name for item in request.session.items for name in item.fixturenames}
    if "second_execution" in wanted:
        background.second_execution(build)
    if "pdf" in wanted and not built:
        background.pdf(build)
    if "epub" in wanted and not built:
        background.epub(build)
    if "audits" in wanted:
        background.audit(build)
    return build


def made_in_background(start, path: Path, target: str) -> Path:
    """PATH, made by `make TARGET` in the background (START() starts it) into the book's build
    folder; with BOOK_TEST_BUILT, the one that build made."""
    if os.environ.get("BOOK_TEST_BUILT"):
        assert path.is_file(), f"{path} is missing: BOOK_TEST_BUILT needs `make pdf epub html`"
        return path
    status, output = start().result()
    assert status == 0, f"make {target} failed:\n{output[-6000:]}"
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def pdf(book, background) -> Path:
    """`make pdf` into the same build folder."""
    return made_in_background(lambda: background.pdf(book), book.builddir / "latex" / "pytorch-primer.pdf", "pdf")


@pytest.fixture(scope="session")
def epub(book, background) -> Path:
    """`make epub` into the same build folder, EPUBCheck included."""
    return made_in_background(lambda: background.epub(book), book.builddir / "epub" / "pytorch-primer.epub", "epub")


@pytest.fixture(scope="session")
def pdf_text(pdf) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: install poppler-utils (make test does)"
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def second_execution(book, background) -> Path:
    """The folder of the second, independent execution of every chapter: READERS/SLUG/ holds the
    downloaded notebook with the exercises' record cells kept (SLUG.ipynb), the files its setup
    cell wrote, and executed.ipynb (the determinism test and the downloads' tests read it)."""
    status, output = background.second_execution(book).result()
    assert status == 0, output[-6000:]
    return background.folder / "readers"


# The cells a reader's notebook adds to the chapter's: the setup cell (_ext/primer_notebooks.py)
# and "check my answer" (_ext/primer_checks.py).
ADDED = {"primer-setup", "answer", "answer-checks"}


def executed_notebooks(cache_dir: Path) -> dict[str, tuple]:
    """{chapter: (the executed notebook in CACHE_DIR for the chapter's current code, its run
    time in seconds)}, for every chapter in the cache."""
    from jupyter_cache import get_cache

    from execute import conf_value, read_notebook

    cache = get_cache(str(cache_dir))
    extensions = conf_value("myst_enable_extensions", REPO / "conf.py")
    found = {}
    for slug in CHAPTERS:
        try:
            record = cache.match_cache_notebook(read_notebook(REPO / "chapters" / f"{slug}.md", extensions))
        except KeyError:
            continue
        found[slug] = (cache.get_cache_bundle(record.pk).nb, record.data.get("execution_seconds", 0))
    return found


# -- The fixture book --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory) -> Path:
    """The fixture book built once, successfully, without a repository URL. Tests that change it
    work on a copy."""
    root = fixture_book(tmp_path_factory.mktemp("fixture") / "book")
    result = run_make("html", root / "_build", cwd=root, BOOK_REPOSITORY_URL="", BOOK_SITE_URL="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2" in (root / "_build" / "html" / "chapters" / "ok.html").read_text()
    return root


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def heading_text(h) -> str:
    """A heading's words, without its section number and permalink sign."""
    text = re.sub(r"\s+", " ", h.get_text(" ")).strip().rstrip("#¶").strip()
    return re.sub(r"^[\d.]+\s*", "", text)
