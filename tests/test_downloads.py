"""What a reader can take away: chapter notebooks that run, the PDF, the execution report."""

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions, version

import jupytext
import nbformat
import pytest
from bs4 import BeautifulSoup
from packaging.requirements import Requirement

from conftest import ADDED, CHAPTERS, REPO, executed_notebooks, run_make
from execute import LOCK_FILES, chapter_inputs
from primer_check import MIME

CHAPTERS_DIR = REPO / "chapters"
SETUP = "primer-setup"  # the setup cell's tag (_ext/primer_notebooks.py)
CHECK_ENVIRONMENT = REPO / "tools" / "reader" / "check_environment.py"


@pytest.fixture(scope="module")
def notebooks(book, tmp_path_factory):
    """The zip offered on the site, unpacked into an empty folder, as a reader would."""
    folder = tmp_path_factory.mktemp("reader")
    with zipfile.ZipFile(book.html / "notebooks" / "pytorch-primer-notebooks.zip") as bundle:
        bundle.extractall(folder)
    return folder


def code(nb) -> list[str]:
    """The chapter's code cells: in a reader's notebook, without the cells it adds; in an executed
    one, without the cells that record the exercises' checks (the notebook has answer cells instead)."""
    return [c.source for c in nb.cells if c.cell_type == "code" and not ADDED & set(c.metadata.get("tags", []))
            and not any(MIME in o.get("data", {}) for o in c.get("outputs", []))]


def reads(nb) -> list:
    """The files of chapters/ that NB's code reads (helper modules, data files): not the lock."""
    return [p for p in chapter_inputs(nb, REPO) if str(p.relative_to(REPO)) not in LOCK_FILES]


def setup_cell(slug: str, book) -> str:
    nb = nbformat.read(book.html / "notebooks" / f"{slug}.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert SETUP in first.metadata.get("tags", []), f"{slug}: the first code cell is not the setup cell"
    return first.source


def run_python(code: str, cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def reader_requirements() -> list[str]:
    lines = (REPO / "requirements-reader.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def bundled(path):
    """Where the zip holds a file of chapters/ (the notebooks sit where the chapters do)."""
    return path.relative_to(CHAPTERS_DIR)


def test_every_chapter_has_a_notebook_button_and_file(book):
    for slug in CHAPTERS:
        path = book.html / "notebooks" / f"{slug}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        button = book.chapter(slug).select_one("a.btn-download-notebook-button")
        assert button["href"] == f"../notebooks/{slug}.ipynb"


def test_a_notebook_is_the_same_file_in_every_build(book, monkeypatch):
    """Made again from the same chapter and cache, each notebook is the published file byte for
    byte (its cell ids come from the cells, not from chance), and its ids are unique."""
    sys.path.insert(0, str(REPO / "_ext"))
    from primer_notebooks import reader_notebook

    monkeypatch.setenv("BOOK_BUILDDIR", str(book.builddir))
    for slug in CHAPTERS:
        again = jupytext.writes(reader_notebook(REPO / "chapters" / f"{slug}.md", REPO), fmt="ipynb")
        assert again == (book.html / "notebooks" / f"{slug}.ipynb").read_text(encoding="utf8"), slug
        ids = [c["id"] for c in nbformat.reads(again, as_version=4).cells]
        assert len(ids) == len(set(ids)), slug


def test_downloaded_notebooks_are_the_executed_code_with_every_file_it_reads(book, notebooks):
    """Each notebook in the zip holds exactly the code cells, in order, that the build executed
    without an error (the cache), and the zip holds, byte for byte, every file of chapters/ that
    the code reads (tools/execute.py's chapter_inputs, which decides re-execution) and every
    helper module and data file, the reader requirements and the environment check. So each
    notebook runs in the reader's folder as it ran in chapters/ (and, thanks to its setup cell,
    alone: test_every_downloaded_notebook_runs_alone_in_an_empty_folder)."""
    executed = executed_notebooks(book.builddir / ".jupyter_cache")
    for slug in CHAPTERS:
        downloaded = notebooks / f"{slug}.ipynb"
        assert downloaded.read_bytes() == (book.html / "notebooks" / f"{slug}.ipynb").read_bytes(), slug
        nb = nbformat.read(downloaded, as_version=4)
        assert slug in executed, f"{slug}: no executed notebook in the cache for this code"
        assert code(nb) == code(executed[slug][0]), f"{slug}: the notebook's code is not the code executed"
        for path in chapter_inputs(nb, REPO):
            if str(path.relative_to(REPO)) not in LOCK_FILES:
                copy = notebooks / bundled(path)
                assert copy.is_file() and copy.read_bytes() == path.read_bytes(), f"{slug} reads {path}"
    for path in [*CHAPTERS_DIR.glob("*.py"), *(p for p in (CHAPTERS_DIR / "data").rglob("*") if p.is_file())]:
        assert (notebooks / bundled(path)).read_bytes() == path.read_bytes(), path
    for path in [REPO / "requirements-reader.txt", CHECK_ENVIRONMENT]:
        assert (notebooks / path.name).read_bytes() == path.read_bytes(), path


@pytest.mark.slow
def test_every_downloaded_notebook_runs_alone_in_an_empty_folder(book, second_execution):
    """Each chapter's notebook, as its button gives it (plus the exercises' record cells, for the
    determinism test), alone in an empty folder, executed with the build's kernel settings
    (tests/run_notebooks.py; test_determinism.py compares its outputs with the build's): every
    cell ran, each "check my answer" cell rejects the exercise's starting point, and the setup
    cell wrote the files the chapter reads, byte for byte those of chapters/."""
    readers = 0
    for slug in CHAPTERS:
        folder = second_execution / slug
        run = nbformat.read(folder / f"{slug}.ipynb", as_version=4)  # what ran: the download, records kept
        run.cells = [c for c in run.cells if not c.metadata.get("primer_record")]
        downloaded = (book.html / "notebooks" / f"{slug}.ipynb").read_text(encoding="utf8")
        assert jupytext.writes(run, fmt="ipynb") == downloaded, f"{slug}: what ran is not the download"
        nb = nbformat.read(folder / "executed.ipynb", as_version=4)
        assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code" and c.source.strip()), slug
        assert sum(1 for c in nb.cells if c.cell_type == "code" and c.get("outputs")) >= 5, slug
        answers = [c for c in nb.cells if "answer" in c.metadata.get("tags", [])]  # check my answer
        assert len(answers) >= 3, slug
        for cell in answers:  # each starts from the exercise's starting point, which its check rejects
            said = "".join(o.get("text", "") for o in cell.outputs)
            assert said.startswith("Exercise ") and ": ✗ " in said, (slug, said)
        files = reads(nb)
        readers += bool(files)
        for path in files:
            assert (folder / bundled(path)).read_bytes() == path.read_bytes(), (slug, path)
    assert readers >= 5  # chapters that import a helper module or read a data file


def test_each_setup_cell_writes_what_its_chapter_reads_offline_and_replaces_nothing(book, tmp_path):
    """The setup cell alone, in plain Python with every network connection refused: into an empty
    folder it writes exactly the files the chapter reads, byte for byte; where they are, it
    leaves them as they are."""
    offline = ("import socket\n"
               "def refuse(*args, **kwargs):\n    raise OSError('no network in this test')\n"
               "socket.socket.connect = socket.create_connection = refuse\n")
    with_files = 0
    for slug in CHAPTERS:
        source = setup_cell(slug, book)
        files = reads(nbformat.read(book.html / "notebooks" / f"{slug}.ipynb", as_version=4))
        folder = tmp_path / slug
        folder.mkdir()
        result = run_python(offline + source, folder)
        assert result.returncode == 0, f"{slug}: {result.stderr}"
        written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        assert written == sorted(str(bundled(p)) for p in files), slug
        for path in files:
            assert (folder / bundled(path)).read_bytes() == path.read_bytes(), path
            (folder / bundled(path)).write_text("the reader's own version")
        again = run_python(offline + source, folder)
        assert again.returncode == 0 and again.stdout == "", f"{slug}: {again.stdout}{again.stderr}"
        assert all((folder / bundled(p)).read_text() == "the reader's own version" for p in files), slug
        with_files += bool(files)
    assert with_files >= 5  # the chapters that read data files or import a helper module


def test_on_colab_the_setup_cell_installs_the_reader_requirements(book, tmp_path):
    """With google.colab imported (as it is in a Colab kernel), the setup cell runs pip on the
    ranges of requirements-reader.txt (pip itself is replaced here by a recorder)."""
    fake_colab = ("import subprocess, sys, types\n"
                  "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
                  "subprocess.run = lambda command, **kwargs: print(repr(command))\n")
    result = run_python(fake_colab + setup_cell(CHAPTERS[0], book), tmp_path)
    assert result.returncode == 0, result.stderr
    command = ast.literal_eval(result.stdout.splitlines()[0])
    assert command == [sys.executable, "-m", "pip", "install", "--quiet", *reader_requirements()]
    assert run_python(setup_cell(CHAPTERS[0], book), tmp_path).stdout == ""  # not on Colab: no pip


def test_reader_requirements_hold_the_lock_and_cover_every_import():
    """Each range holds the version the book is built with; every package the chapters' code
    imports (besides the standard library, Jupyter's own and the chapters' helpers) is named."""
    ranges = {Requirement(line).name.lower(): Requirement(line) for line in reader_requirements()}
    for name, requirement in ranges.items():
        assert requirement.specifier.contains(version(name), prereleases=True), (name, version(name))
    distributions = packages_distributions()
    sources = [c.source for slug in CHAPTERS for c in jupytext.read(REPO / "chapters" / f"{slug}.md").cells
               if c.cell_type == "code"]
    sources += [path.read_text() for path in (REPO / "chapters").glob("*.py")]
    imported = set()
    for source in sources:
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!", ":")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    helpers = {p.stem for p in (REPO / "chapters").glob("*.py")}
    helpers |= set(re.findall(r"[\"'](\w+)\.py[\"']", "\n".join(sources)))  # modules a chapter writes itself
    jupyter = {"IPython", "matplotlib_inline"}  # the kernel's own (ipykernel)
    third_party = imported - set(sys.stdlib_module_names) - helpers - jupyter
    for module in sorted(third_party):
        names = {d.lower() for d in distributions.get(module, [module])}
        assert names & set(ranges), f"the chapters import {module} ({names}): not in requirements-reader.txt"


def test_environment_check_reports_installed_missing_and_outside(tmp_path):
    result = subprocess.run([sys.executable, str(CHECK_ENVIRONMENT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    torch = re.search(r"^torch\s+(\S+)\s+OK$", result.stdout, re.M)
    assert torch and torch[1] == version("torch")
    assert len(re.findall(r"\sOK$", result.stdout, re.M)) == len(reader_requirements())
    wanted = tmp_path / "requirements-reader.txt"
    wanted.write_text("torch>=2.13,<3\nno-such-package-for-the-primer>=1.0\nnumpy<2\n")
    result = subprocess.run([sys.executable, str(CHECK_ENVIRONMENT), str(wanted)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert re.search(r"^no-such-package-for-the-primer\s+-\s+missing", result.stdout, re.M), result.stdout
    assert re.search(rf"^numpy\s+{re.escape(version('numpy'))}\s+outside the range <2$", result.stdout, re.M), result.stdout


def test_each_chapter_shows_the_pytorch_version_it_was_verified_with(book):
    installed = version("torch").split("+")[0]  # the torch the kernels import (no import here: seconds)
    for slug in CHAPTERS:
        note = book.chapter(slug).select_one("article p.primer-verified")
        assert note and f"PyTorch {installed}" in note.get_text()


def test_execution_report_lists_every_chapter(book):
    rows = book.page("reports.html").select("article table tbody tr")
    by_doc = {r.select("td")[0].get_text(strip=True): [td.get_text(strip=True) for td in r.select("td")] for r in rows}
    for slug in CHAPTERS:
        cells = by_doc[f"chapters/{slug}"]
        assert cells[2] == "cache" and float(cells[3]) > 0 and cells[4] == "✅", cells


@pytest.mark.pdf
def test_site_links_to_the_pdf_once_it_is_built(book, pdf):
    result = run_make("html", book.builddir)  # the PDF exists now: the site picks it up
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Executing" not in result.stdout  # nothing runs again for it
    assert (book.html / "pytorch-primer.pdf").read_bytes() == pdf.read_bytes()
    for page in ["index.html", *(f"chapters/{s}.html" for s in CHAPTERS)]:
        link = book.page(page).select_one("a.btn-download-book-pdf-button")
        assert link is not None, page
        assert (book.html / page).parent.joinpath(link["href"]).resolve() == (book.html / "pytorch-primer.pdf").resolve()


SITE = "https://example.github.io/pytorch-primer"  # a site's address, as BOOK_SITE_URL gives it


@pytest.mark.parametrize("url", ["", "https://github.com/example/pytorch-primer"])
def test_repository_buttons_only_when_the_repository_is_known(url, fixture_site, tmp_path):
    """Without a URL, the fixture book as every session builds it; with one, a copy rebuilt."""
    root = fixture_site
    if url:
        root = tmp_path / "book"
        shutil.copytree(fixture_site, root, symlinks=True)
        result = run_make("html", root / "_build", cwd=root, BOOK_REPOSITORY_URL=url, BOOK_SITE_URL=SITE)
        assert result.returncode == 0, result.stdout + result.stderr
    page = (root / "_build" / "html" / "chapters" / "ok.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    og = {m["property"]: m["content"] for m in soup.select("meta[property^='og:']")}
    sitemap = root / "_build" / "html" / "sitemap.xml"
    buttons = soup.select(".article-header-buttons > a.btn")
    labels = [c for b in buttons for c in b["class"] if c.startswith("btn-") and c != "btn-sm"]
    if url:
        assert f'href="{url}"' in page
        assert f'href="{url}/edit/main/chapters/ok.md"' in page
        assert f'href="{url}/issues/new' in page
        # Open in Colab, right after the notebook's download button: the notebooks branch.
        assert labels[labels.index("btn-download-notebook-button") + 1] == "btn-colab-button"
        colab = buttons[labels.index("btn-colab-button")]
        assert colab["href"] == "https://colab.research.google.com/github/example/pytorch-primer/blob/notebooks/ok.ipynb"
        # The site's address (BOOK_SITE_URL, given without its final slash): a preview card that
        # says what the page's front matter says, a canonical link, a sitemap of the pages.
        assert og["og:url"] == soup.select_one("link[rel=canonical]")["href"] == f"{SITE}/chapters/ok.html"
        assert og["og:title"] == "A good chapter"
        assert og["og:description"] == soup.select_one("meta[name=description]")["content"] \
            == "A good chapter: it adds two numbers."
        assert "og:image" not in og  # no card image (and none drawn per page)
        locs = re.findall(r"<loc>(.*?)</loc>", sitemap.read_text())
        assert sorted(locs) == [f"{SITE}/chapters/ok.html", f"{SITE}/index.html"]
    else:
        assert "github.com" not in page and "/edit/" not in page
        assert "btn-download-notebook-button" in labels and "btn-colab-button" not in labels
        assert not og and not soup.select("link[rel=canonical]") and not sitemap.exists()
        site = root / "_build" / "html"
        assert not [p for p in site.rglob("*") if p.is_file() and b"colab.research.google.com" in p.read_bytes()]
