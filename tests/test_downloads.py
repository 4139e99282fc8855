"""What a reader can take away: chapter notebooks that run, the PDF, the execution report."""

import shutil
import zipfile
from importlib.metadata import version

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import CHAPTERS, REPO, executed_notebooks, run_make
from execute import LOCK_FILES, chapter_inputs

CHAPTERS_DIR = REPO / "chapters"


@pytest.fixture(scope="module")
def notebooks(book, tmp_path_factory):
    """The zip offered on the site, unpacked into an empty folder, as a reader would."""
    folder = tmp_path_factory.mktemp("reader")
    with zipfile.ZipFile(book.html / "notebooks" / "pytorch-primer-notebooks.zip") as bundle:
        bundle.extractall(folder)
    return folder


def code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


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


def test_downloaded_notebooks_are_the_executed_code_with_every_file_it_reads(book, notebooks):
    """Each notebook in the zip holds exactly the code cells, in order, that the build executed
    without an error (the cache), and the zip holds, byte for byte, every file of chapters/ that
    the code reads (tools/execute.py's chapter_inputs, which decides re-execution) and every
    helper module and data file. So each notebook runs in the reader's folder as it ran in
    chapters/; test_a_downloaded_notebook_runs_top_to_bottom runs one to show it."""
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


def notebook_to_run(book) -> str:
    """The chapter whose code imports a helper module from the zip (the import, and what the
    helper itself reads, depend on the reader's folder), else reads a data file from it; of
    those, the quickest to execute by the build's own run times."""
    executed = executed_notebooks(book.builddir / ".jupyter_cache")
    reads = {slug: [p for p in chapter_inputs(executed[slug][0], REPO) if str(p.relative_to(REPO)) not in LOCK_FILES]
             for slug in CHAPTERS if slug in executed}
    for suffix in (".py", ""):
        candidates = [slug for slug, paths in reads.items() if any(p.name.endswith(suffix) for p in paths)]
        if candidates:
            return min(candidates, key=lambda slug: executed[slug][1])
    return min(executed, key=lambda slug: executed[slug][1])


@pytest.mark.slow
def test_a_downloaded_notebook_runs_top_to_bottom(book, notebooks):
    """One notebook executed in the unpacked zip by a plain Jupyter kernel, without the build's
    kernel settings, as a reader runs it (the rest is shown by the test above)."""
    slug = notebook_to_run(book)
    nb = nbformat.read(notebooks / f"{slug}.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(notebooks)}}).execute()
    assert sum(1 for c in nb.cells if c.cell_type == "code" and c.get("outputs")) >= 5, slug


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


@pytest.mark.parametrize("url", ["", "https://github.com/example/pytorch-primer"])
def test_repository_buttons_only_when_the_repository_is_known(url, fixture_site, tmp_path):
    """Without a URL, the fixture book as every session builds it; with one, a copy rebuilt."""
    root = fixture_site
    if url:
        root = tmp_path / "book"
        shutil.copytree(fixture_site, root, symlinks=True)
        result = run_make("html", root / "_build", cwd=root, BOOK_REPOSITORY_URL=url)
        assert result.returncode == 0, result.stdout + result.stderr
    page = (root / "_build" / "html" / "chapters" / "ok.html").read_text()
    if url:
        assert f'href="{url}"' in page
        assert f'href="{url}/edit/main/chapters/ok.md"' in page
        assert f'href="{url}/issues/new' in page
    else:
        assert "github.com" not in page and "/edit/" not in page
