"""What a reader can take away: chapter notebooks that run, the PDF, the execution report."""

import zipfile

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import CHAPTERS, fixture_book, run_make


@pytest.fixture(scope="module")
def notebooks(book, tmp_path_factory):
    """The zip offered on the site, unpacked into an empty folder, as a reader would."""
    folder = tmp_path_factory.mktemp("reader")
    with zipfile.ZipFile(book.html / "notebooks" / "pytorch-primer-notebooks.zip") as bundle:
        bundle.extractall(folder)
    return folder


def test_every_chapter_has_a_notebook_button_and_file(book):
    for slug in CHAPTERS:
        path = book.html / "notebooks" / f"{slug}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        button = book.chapter(slug).select_one("a.btn-download-notebook-button")
        assert button["href"] == f"../notebooks/{slug}.ipynb"


@pytest.mark.parametrize("slug", CHAPTERS)
def test_downloaded_notebook_runs_top_to_bottom(notebooks, slug):
    nb = nbformat.read(notebooks / f"{slug}.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(notebooks)}}).execute()
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_each_chapter_shows_the_pytorch_version_it_was_verified_with(book):
    import torch

    version = torch.__version__.split("+")[0]
    for slug in CHAPTERS:
        note = book.chapter(slug).select_one("article p.primer-verified")
        assert note and f"PyTorch {version}" in note.get_text()


def test_execution_report_lists_every_chapter(book):
    rows = book.page("reports.html").select("article table tbody tr")
    by_doc = {r.select("td")[0].get_text(strip=True): [td.get_text(strip=True) for td in r.select("td")] for r in rows}
    for slug in CHAPTERS:
        cells = by_doc[f"chapters/{slug}"]
        assert cells[2] == "cache" and float(cells[3]) > 0 and cells[4] == "✅", cells


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
def test_repository_buttons_only_when_the_repository_is_known(url, tmp_path):
    root = fixture_book(tmp_path / "book")
    result = run_make("html", root / "_build", cwd=root, BOOK_REPOSITORY_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (root / "_build" / "html" / "chapters" / "ok.html").read_text()
    if url:
        assert f'href="{url}"' in page
        assert f'href="{url}/edit/main/chapters/ok.md"' in page
        assert f'href="{url}/issues/new' in page
    else:
        assert "github.com" not in page and "/edit/" not in page
