"""The PDF: complete, executed, no unresolved references, every font embedded."""

import shutil
import subprocess

from conftest import CHAPTERS, heading_text, normalise


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
