"""The PDF: complete, executed, no unresolved references, every font embedded."""

import re
import shutil
import subprocess

import pytest

from conftest import CHAPTERS, heading_text, normalise

pytestmark = pytest.mark.pdf


def test_pdf_has_every_chapter_title(book, pdf_text):
    text = normalise(pdf_text)
    for slug in CHAPTERS:
        title = heading_text(book.chapter(slug).select_one("article h1"))
        assert normalise(title) in text, f"{slug}: title {title!r} not in the PDF"


def test_pdf_has_an_executed_output_of_every_chapter(book, pdf_text):
    text = normalise(pdf_text)
    for slug in CHAPTERS:
        outputs = [normalise(o.get_text(" ")) for o in book.chapter(slug).select("div.cell_output div.output pre")]
        lines = [line for o in outputs for line in o.split(" | ") if len(line) >= 6]
        assert any(line[:40] in text for line in lines), f"{slug}: no executed output found in the PDF"


def test_pdf_has_no_unresolved_references(pdf_text):
    assert "??" not in pdf_text


def test_pdf_embeds_every_font(pdf):
    assert shutil.which("pdffonts"), "pdffonts is missing: install poppler-utils (make test does)"
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert lines
    for line in lines:
        assert line.split()[-5] == "yes", f"font not embedded: {line}"


def test_pdf_shows_the_video_as_a_link(pdf_text):
    assert "Video:" in pdf_text


def test_pdf_has_every_glyph(pdf):
    """XeLaTeX only logs a glyph its fonts lack; the reader would see a gap."""
    log = pdf.with_suffix(".log").read_text(errors="replace")
    missing = sorted({line for line in log.splitlines() if line.startswith("Missing character")})
    assert not missing, "\n".join(missing)


def test_pdf_prints_the_back_matter_as_appendices(pdf_text):
    text = normalise(pdf_text)
    for letter, title in [("A", "Setting up PyTorch"), ("B", "Changes and errata")]:
        assert f"Appendix {letter}. {title}" in text, title
    assert "Execution report" in text


def test_pdf_shows_figures_without_the_code_the_web_folds(book, pdf_text):
    """hide-input cells: the web folds their code; paper can't, so the PDF prints the figure alone."""
    text = normalise(pdf_text)
    pages = {slug: book.chapter(slug) for slug in CHAPTERS}
    folded_cells = [(slug, cell) for slug, soup in pages.items() for cell in soup.select("div.cell.tag_hide-input")]
    for _, cell in folded_cells:
        cell["data-folded"] = "yes"
    # Everything else the PDF prints: other cells, prose, outputs.
    printed = " ".join(soup.select_one("article").get_text(" ") for soup in pages.values())
    for _, cell in folded_cells:
        printed = printed.replace(cell.get_text(" "), " ")
    printed = normalise(printed)
    checked = 0
    for slug, cell in folded_cells:
        lines = [normalise(line) for line in cell.select_one("div.cell_input").get_text().splitlines()]
        own = [line for line in lines if len(line) >= 30 and line[:40] not in printed]  # in no printed place
        if own:
            checked += 1
            assert own[0][:40] not in text, f"{slug}: folded code printed: {own[0]!r}"
    assert checked >= 5


def test_pdf_groups_the_chapters_into_parts(pdf_text):
    text = normalise(pdf_text)
    for number, title in [("I", "Foundations"), ("II", "Models"), ("III", "Performance and scale")]:
        assert f"Part {number} {title}" in text, title  # the \\part page
    assert "Part IV" not in text and "Closing" in text  # the last chapter stands alone, unnumbered


def test_pdf_prints_the_glossary_as_an_appendix(book, pdf_text):
    text = normalise(pdf_text)
    assert re.search(r"Appendix [A-Z]\. Glossary", text)
    terms = [normalise("".join(dt.find_all(string=True, recursive=False)))
             for dt in book.page("glossary.html").select("dl.glossary > dt")]
    assert len(terms) >= 80
    missing = [term for term in terms if term not in text]
    assert not missing, missing


def test_pdf_prints_an_index_with_page_numbers(pdf):
    """The last pages: Sphinx's index, sorted by xindy, each entry with the pages it is on."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    # without -layout, pdftotext reads the index's two columns one after the other
    tail = subprocess.run(["pdftotext", "-f", str(pages - 9), "-l", str(pages), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    heading = re.search(r"^\s*INDEX\s*$", tail, re.M)
    assert heading, "no index on the last ten pages"
    index = tail[heading.end():]
    entries = re.findall(r"^(\S[^,\n]*), (\d{1,3})(?:, \d{1,3})*$", index, re.M)  # entry, page[, page...]
    assert len(entries) >= 150, len(entries)
    assert all(int(page) <= pages for _, page in entries)
    names = {name.strip() for name, _ in entries}
    for api in ["torch.no_grad", "nn.Module", "torch.compile", "torch.save", "nn.Linear"]:
        assert api in names, api
